"""A call into a driver made off the user's thread: on a daemon thread, waited for at most a
timeout, so that a wedged driver (NVML, sysfs) can never hang the user's program."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_bounded(function: Callable[[], T], timeout_s: float, *, name: str
                 ) -> tuple[bool, T | None]:
    """(True, ``function()``) when it returns within ``timeout_s``; (False, None) when it does
    not (its thread is left to the process's exit). Its exception is raised on this thread."""
    result: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as error:  # re-raised on the caller's thread below
            failed.append(error)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if failed:
        raise failed[0]
    return (True, result[0]) if result else (False, None)
