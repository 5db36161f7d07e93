"""User-facing errors of the model zoo (subclasses of :class:`ferbench.errors.FerbenchError`)."""

from __future__ import annotations

from ferbench.errors import FerbenchError


class ModelConfigError(FerbenchError):
    """An unknown architecture, attention, activation, head type or keyword for ``create_model``."""


class CheckpointError(FerbenchError):
    """A checkpoint file is missing, unreadable, or was saved for a different model spec."""
