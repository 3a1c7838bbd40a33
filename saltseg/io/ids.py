"""Rows by tile id: the one lookup behind every file that is matched to another by id."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from saltseg.errors import SaltsegError


def id_rows(ids: Iterable, wanted: Iterable) -> tuple[np.ndarray, list]:
    """(row in ``ids`` of each ``wanted`` id found, the wanted ids not found).

    When some are missing the rows cover only the found ones, so callers raise first.
    """
    index = {k: i for i, k in enumerate(np.asarray(ids).tolist())}
    wanted = np.asarray(wanted).tolist()
    missing = [w for w in wanted if w not in index]
    return np.array([index[w] for w in wanted if w in index], dtype=np.int64), missing


def take(source: str | os.PathLike, ids: Iterable, values: np.ndarray, wanted: Iterable):
    """``values`` (one per id of ``source``) in the order of ``wanted``; every id must be there."""
    rows, missing = id_rows(ids, wanted)
    if missing:
        raise SaltsegError(f"{source}: {len(missing)} id(s) missing, e.g. {missing[0]!r}")
    return values[rows]
