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

An exception raised at an arbitrary point is only safe where code expects one. Two places do not:
an import (a KeyboardInterrupt inside numpy's or torch's import was swallowed, or left a half-made
module that then failed to load again: seen here with a timer sending SIGTERM during the imports),
and cleanup code that catches too much. So the handler waits until no import is running (it sends
itself the signal again 50 ms later, for at most `MAX_DEFER_S`), a second signal while stopping
ends the process at once (the default action), and if the process is still alive `GRACE_S` seconds
after the stop was raised, a watchdog thread ends it with the same status (what irlkit commits is
crash-safe, so nothing committed is lost).

Commands that must finish a step before stopping (the recorder, the corrections session) install
their own handlers around their loops and restore these afterwards.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Optional

SDL_SWITCH = "SDL_NO_SIGNAL_HANDLERS"

GRACE_S = 15.0
"""Seconds a stopping process may take to clean up before the watchdog ends it."""
RETRY_S = 0.05
"""How soon a signal that arrived during an import is delivered again."""
MAX_DEFER_S = 5.0
"""How long a stop may wait for imports to finish (code that runs inside an import never does)."""

_received: Optional[int] = None
"""The signal that asked this process to stop (None: none yet)."""
_raised = False
"""Whether the stop has been raised (as KeyboardInterrupt) in the main thread."""
_deferred_since: dict[int, float] = {}


def keep_sdl_off_signals() -> None:
    """Tell SDL not to install signal handlers (read when SDL starts, so call it before pygame does)."""
    os.environ.setdefault(SDL_SWITCH, "1")


def _importing(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _interrupt(signum: int, frame: Any) -> None:
    global _received, _raised
    if _raised:  # asked again while stopping: stop now
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _received = signum
    now = time.monotonic()
    if _importing(frame) and now - _deferred_since.setdefault(signum, now) < MAX_DEFER_S:
        threading.Timer(RETRY_S, os.kill, (os.getpid(), signum)).start()
        return
    _raised = True
    threading.Thread(target=_watchdog, args=(signum,), name="irlkit-stop-watchdog", daemon=True).start()
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def _watchdog(signum: int) -> None:
    time.sleep(GRACE_S)
    print(
        f"irlkit: still running {GRACE_S:.0f} s after {signal.Signals(signum).name}: exiting now; what was "
        "committed before it is kept",
        file=sys.stderr,
        flush=True,
    )
    os._exit(128 + signum)


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
