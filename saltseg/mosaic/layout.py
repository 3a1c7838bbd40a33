"""Mosaic layout files: one row per placed tile, ``id, mosaic, row, col`` (parquet).

Also the synthetic truth layout (``truth/layout.csv``: ``id, section, row, col``) that
saltseg.mosaic.evaluate scores an assembled layout against.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path

LAYOUT_COLUMNS = ["id", "mosaic", "row", "col"]
TRUTH_COLUMNS = ["id", "section", "row", "col"]


def save_layout(layout: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a layout (``id, mosaic, row, col``) as parquet, atomically."""
    with atomic_path(path) as tmp:
        layout.to_parquet(tmp, index=False)


def read_layout(path: str | os.PathLike) -> pd.DataFrame:
    """A mosaic layout parquet (``id, mosaic, row, col``), validated."""
    try:
        layout = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise SaltsegError(f"{path}: unreadable mosaic layout ({exc})") from None
    missing = [c for c in LAYOUT_COLUMNS if c not in layout.columns]
    if missing:
        raise SaltsegError(
            f"{path}: missing column(s) {missing}; expected {','.join(LAYOUT_COLUMNS)}"
        )
    if layout["id"].duplicated().any():
        raise SaltsegError(
            f"{path}: duplicate id {layout['id'][layout['id'].duplicated()].iloc[0]!r}"
        )
    return layout.assign(id=layout["id"].astype(str))


def read_truth_layout(path: str | os.PathLike) -> pd.DataFrame:
    """``truth/layout.csv`` of a synthetic data set (``id,section,row,col``)."""
    path = Path(path)
    try:
        truth = pd.read_csv(path, dtype={"id": str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SaltsegError(f"{path}: unreadable truth layout ({exc})") from None
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise SaltsegError(
            f"{path}: missing column(s) {missing}; expected {','.join(TRUTH_COLUMNS)}"
        )
    return truth[TRUTH_COLUMNS]
