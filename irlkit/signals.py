"""SIGTERM and SIGINT stop every irlkit command, whatever it rendered.

Why this module exists: SDL (under pygame) installs its own SIGINT and SIGTERM handlers when its
video or events subsystem starts, and gymnasium's classic-control `rgb_array` rendering starts it
(`pygame.display.init()`), as do the recorder's window and the labelling page's clip worker. SDL's
handler turns the signal into an `SDL_QUIT` event that nobody reads, so a job that had rendered
anything survived `timeout`, `kill`, SLURM's time limit, `docker stop` and systemd until SIGKILL.

Two things, both here:

- `import irlkit` sets `SDL_NO_SIGNAL_HANDLERS=1` (SDL's own switch, the environment form of
  `SDL_HINT_NO_SIGNAL_HANDLERS`) unless it is set already, so SDL never takes the signals in a
  process that uses irlkit, however pygame gets started (SDL also leaves alone any handler that
  is not the default, which the second point installs).
- Every command calls `stop_on_signals()` first: SIGTERM then raises `KeyboardInterrupt` in the
  main thread, exactly like Ctrl-C, so both take the path every command already has for Ctrl-C
  (stop at once, keep what was committed, say where it is). `interrupted_message()` and
  `exit_status()` name the signal and give the conventional status, 128 + the signal's number
  (130 for SIGINT, 143 for SIGTERM).

Commands that must finish a step before stopping (the recorder, the corrections session) install
their own handlers around their loops and restore these afterwards.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Optional

SDL_SWITCH = "SDL_NO_SIGNAL_HANDLERS"

_received: Optional[int] = None
"""The last signal turned into KeyboardInterrupt (None: a real Ctrl-C, or none yet)."""


def keep_sdl_off_signals() -> None:
    """Tell SDL not to install signal handlers (read when SDL starts, so call it before pygame does)."""
    os.environ.setdefault(SDL_SWITCH, "1")


def _interrupt(signum: int, _frame: Any) -> None:
    global _received
    _received = signum
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def stop_on_signals() -> None:
    """Make SIGTERM stop this process as Ctrl-C does (a no-op outside the main thread, where
    Python cannot install handlers)."""
    keep_sdl_off_signals()
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Python's own SIGINT handler raises KeyboardInterrupt as this one does, and also says which
        # signal it was; an ignored signal (nohup, a background job) stays ignored
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler, None):
            signal.signal(sig, _interrupt)


def received() -> Optional[int]:
    """The signal that stopped this process, if one did (after `stop_on_signals`)."""
    return _received


def interrupted_message() -> str:
    """`stopped by SIGTERM` or `interrupted (Ctrl-C)`."""
    return f"stopped by {signal.Signals(_received).name}" if _received is not None else "interrupted (Ctrl-C)"


def exit_status() -> int:
    """128 + the signal's number, the status a shell reports for a process a signal ended."""
    return 128 + int(_received if _received is not None else signal.SIGINT)
