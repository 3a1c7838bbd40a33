"""Run one workflow job: log to the rule's log file, turn SaltsegError into one line and exit 1."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger("saltseg")


def run_job(log_path: str | os.PathLike | None, func: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call ``func(**kwargs)`` with logging (and tqdm bars) going to ``log_path``.

    A SaltsegError is written as one line to the log and to the console, then the process exits
    with status 1; the caller's outputs are written atomically, so nothing half-written remains.
    """
    from saltseg.errors import SaltsegError

    console = sys.stderr
    stack = contextlib.ExitStack()
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log_file = stack.enter_context(open(log_path, "w", buffering=1))  # noqa: SIM115
        stack.enter_context(contextlib.redirect_stderr(log_file))
        handler: logging.Handler = logging.StreamHandler(log_file)
    else:
        handler = logging.StreamHandler(console)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    start = time.perf_counter()
    with stack:
        try:
            result = func(**kwargs)
            logger.info("%s done in %.1f s", func.__name__, time.perf_counter() - start)
        except SaltsegError as exc:
            logger.error("%s", exc)
            print(f"saltseg {func.__name__}: error: {exc}", file=console)
            sys.exit(1)
        finally:
            root.removeHandler(handler)
    return result
