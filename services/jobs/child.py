"""Heavy work (a training, an evaluation) in a child process that dies with the jobs process and when its job stops."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any


def run_in_child(target: Callable[..., None], args: tuple[Any, ...], what: str, stop: threading.Event) -> Any:
    """Run `target(sending, *args)` in a spawned child and return what it sends; killed when `stop` is set."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=target, args=(sending, *args), daemon=True)
    child.start()
    try:
        while not receiving.poll(1.0):
            if stop.is_set():
                raise RuntimeError(f"the {what} was stopped")
            if not child.is_alive():
                raise RuntimeError(f"the {what} process ended without a result (exit code {child.exitcode})")
        return receiving.recv()
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def die_with_parent() -> None:
    """In the child, Linux: SIGKILL when the parent dies, even killed with -9 (at once if it already has)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os._exit(1)
