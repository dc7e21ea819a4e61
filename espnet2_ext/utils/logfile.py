"""Logging of the entry points that write their own log file under the exp dir."""

import logging
import os
import sys


def stderr_is(path: str) -> bool:
    """True when stderr is already written to ``path`` (so logging it twice would repeat every line)."""
    try:
        a, b = os.fstat(sys.stderr.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def log_to(path: str) -> None:
    """INFO logging to stderr and to ``path``, unless a job runner (run.pl) already sends stderr there."""
    handlers = [logging.StreamHandler(sys.stderr)]
    if not stderr_is(path):
        handlers.append(logging.FileHandler(path))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
