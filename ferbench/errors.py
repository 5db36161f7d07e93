"""The exception a user mistake raises: the CLI prints its message on one line and exits 2."""


class FerbenchError(Exception):
    """Base for user-facing errors; the message names the path (or option) and the fix."""
