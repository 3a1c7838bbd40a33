"""Workflow steps that connect data files: what the thin scripts in workflow/scripts call."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from saltseg import data
from saltseg.atomic import atomic_path
from saltseg.errors import SaltsegError

logger = logging.getLogger(__name__)


def prepare_data(source: str | os.PathLike, out_dir: str | os.PathLike, hint: str = "") -> dict:
    """Read and validate a Kaggle-layout folder; cache it as arrays plus a table in ``out_dir``."""
    source = Path(source)
    if not source.is_dir():
        raise SaltsegError(f"{source}: data folder not found; {hint}" if hint else f"{source}: not found")
    tiles = data.read_kaggle(source)
    data.save_tileset(tiles, out_dir)
    summary = data.summary(tiles)
    logger.info("prepared %s", summary)
    return summary


def write_json(path: str | os.PathLike, obj: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")
