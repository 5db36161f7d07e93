"""What a grid does when something goes wrong: bounded retries of a failed cell, and SIGTERM.

Both executors share these rules. A ferbench error in a cell (a user mistake, a full disk) stops
the grid: it would repeat in every cell. Anything else — a Ray worker killed or out of memory, a
node lost, an exception no one foresaw — is retried up to ``retries`` times from the cell's last
epoch checkpoint; a cell that fails every attempt is given up and named at the end, after the other
cells finished (:class:`Retries`).

SIGTERM, what batch schedulers and spot instances send before they kill, becomes
:class:`Preempted` (a ``KeyboardInterrupt``) while :func:`sigterm_stops` is active, so the grid
unwinds as on Ctrl-C: the lock is released, every cell keeps the state of its last finished epoch,
and :func:`stop_message` is the one line telling how to resume.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
from collections.abc import Iterator

from ferbench.errors import FerbenchError


class CellsFailed(FerbenchError):
    """Cells that failed every attempt; the other cells of the grid finished."""


class Retries:
    """Counts each cell's failed attempts: :meth:`again` says whether to retry, :meth:`check` names the
    cells given up."""

    def __init__(self, retries: int):
        if retries < 0:
            raise FerbenchError(f"--retries must be >= 0, got {retries}")
        self.retries = retries
        self.failures: dict[str, list[str]] = {}
        self.given_up: list[str] = []

    def again(self, cell: str, reason: str) -> bool:
        """Record a failed attempt of ``cell``; True when it has retries left."""
        failures = self.failures.setdefault(cell, [])
        failures.append(" ".join(reason.split())[:300])
        if len(failures) <= self.retries:
            return True
        self.given_up.append(cell)
        return False

    def attempt(self, cell: str) -> int:
        """The number of the next attempt of ``cell`` (1 for the first)."""
        return len(self.failures.get(cell, [])) + 1

    def check(self, total: int) -> None:
        """Raise :class:`CellsFailed` naming every cell given up (with its last error), if any."""
        if not self.given_up:
            return
        n = len(self.given_up)
        named = "; ".join(f"{c} ({self.failures[c][-1]})" for c in self.given_up[:5])
        more = f" and {n - 5} more" if n > 5 else ""
        raise CellsFailed(f"{n} of {total} cell(s) failed {self.retries + 1} time(s) and were given up: {named}{more}; "
                          "the other cells finished; re-run the same command to try them again from their last "
                          "epoch (or raise --retries)")


class Preempted(KeyboardInterrupt):
    """SIGTERM arrived (:func:`sigterm_stops`); ``signum`` is the signal."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """While active, SIGTERM raises :class:`Preempted` in the main thread (elsewhere: unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received: list[int] = []

    def stop(signum, _frame) -> None:
        received.append(signum)
        raise Preempted(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except KeyboardInterrupt as err:
        # Ray's C++ waits turn an exception raised by a signal handler into a plain KeyboardInterrupt
        if received and not isinstance(err, Preempted):
            raise Preempted(received[0]) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def resume_command(argv: list[str] | None = None) -> str:
    """The command that resumes this one: the same ``ferbench`` arguments without ``--force`` (which would
    train the interrupted cells from scratch)."""
    args = [a for a in (sys.argv if argv is None else argv)[1:] if a != "--force"]
    return shlex.join(["ferbench", *args])


def stop_message(err: KeyboardInterrupt, argv: list[str] | None = None) -> tuple[str, int]:
    """The one line a stopped grid prints and its exit status (128 + the signal's number)."""
    signum = getattr(err, "signum", signal.SIGINT)
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    return (f"{what}: finished cells are kept and an interrupted cell loses at most its epoch in progress; "
            f"resume with: {resume_command(argv)}", 128 + signum)
