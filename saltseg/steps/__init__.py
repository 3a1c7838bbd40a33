"""The workflow's steps: the layer that knows the rules' files. One module per rule file, one
function per rule, named like the rule, its parameters named like the rule's input, output,
params and wildcard keys; :func:`run_rule` binds a rule's ``snakemake`` object to its step.

Below the steps, the algorithms (blend, pseudo, postprocess, mosaic assembly, ...) take arrays
and return arrays or tables; the file formats (saltseg.io, the tile set, checkpoints, the
training history) read and write the paths a step hands them."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import sys
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saltseg.errors import SaltsegError

logger = logging.getLogger("saltseg")


def run_step(log_path: str | os.PathLike | None, step: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call ``step(**kwargs)`` with logging (and tqdm bars) going to ``log_path``.

    A SaltsegError is written as one line to the log and to the console, then the process exits
    with status 1; any other error also leaves its traceback in the log before it propagates.
    Steps write their outputs atomically, so nothing half-written remains.
    """
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
            result = step(**kwargs)
            logger.info("%s done in %.1f s", step.__name__, time.perf_counter() - start)
        except SaltsegError as exc:
            logger.error("%s", exc)
            print(f"saltseg {step.__name__}: error: {exc}", file=console)
            sys.exit(1)
        except Exception:
            logger.exception("%s failed", step.__name__)
            raise
        finally:
            root.removeHandler(handler)
    return result


def bind(step: Callable[..., Any], smk: Any) -> dict[str, Any]:
    """Keyword arguments for ``step`` from a rule's ``snakemake`` object.

    Each parameter is looked up by name among the rule's outputs, inputs, params and wildcards,
    where it must be found once; ``threads`` is the job's thread count, and a wildcard given to an
    ``int`` parameter is converted. Parameters with defaults are optional.
    """
    hints = typing.get_type_hints(step)
    sources = {"output": smk.output, "input": smk.input, "params": smk.params}
    sources["wildcards"] = smk.wildcards
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(step).parameters.items():
        if name == "threads":
            kwargs[name] = smk.threads
            continue
        # Namedlist is a list of values: `in` would test the values, not the names.
        found = [kind for kind, source in sources.items() if name in source.keys()]  # noqa: SIM118
        if len(found) > 1:
            raise TypeError(f"rule {smk.rule}: {name!r} is ambiguous ({' and '.join(found)})")
        if found:
            value = getattr(sources[found[0]], name)
            if hints.get(name) is int and isinstance(value, str):
                value = int(value)
            kwargs[name] = value
        elif param.default is inspect.Parameter.empty:
            raise TypeError(f"rule {smk.rule}: nothing named {name!r} for {step.__name__}")
    return kwargs


def run_rule(smk: Any, step: Callable[..., Any]) -> Any:
    """What every script in workflow/scripts does: bind the rule's files and settings to its
    step and run it, logging to the rule's log file."""

    # Bound inside run_step, so that a rule whose files do not fit its step also logs why.
    @functools.wraps(step)
    def bound() -> Any:
        return step(**bind(step, smk))

    return run_step(smk.log[0] if smk.log else None, bound)
