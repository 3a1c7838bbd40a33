"""Cross-validation folds for the train tiles; blank tiles get fold -1 (never trained or scored).

Methods:
  depth     the 1st-place scheme: ids sorted by depth ``z`` (unknown depths last, ties broken by
            id), dealt round-robin, so every fold spans the full depth range.
  coverage  StratifiedKFold over salt-coverage classes: 0 for empty masks, ceil(coverage * 10)
            otherwise (1..10); classes smaller than ``n_folds`` are merged into a neighbour.
Output parquet: ``id`` (str), ``fold`` (int64; -1 = excluded), one row per train tile.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.options import Int, Options, choice

logger = logging.getLogger(__name__)

METHODS = ("depth", "coverage")


class FoldsScheme(Options):
    n_folds: Annotated[Int, Field(ge=2)] = 5
    method: choice(*METHODS) = "depth"  # depth-sorted round-robin (1st place), or coverage
    seed: Int = 0  # coverage only: the depth deal is fully determined


def coverage_classes(coverage: np.ndarray, n_folds: int) -> np.ndarray:
    """Class 0 for empty masks, ceil(coverage * 10) otherwise; rare classes merged into neighbours.

    StratifiedKFold warns (and cannot stratify) when a class has fewer members than folds, so
    the smallest such class is merged into its nearest non-empty class (the upper one on a tie)
    until every class is big enough or one class is left.
    """
    cov = np.asarray(coverage, dtype=np.float64)
    classes = np.where(cov > 0, np.ceil(np.round(cov * 10, 9)), 0).astype(np.int64)
    while True:
        values, counts = np.unique(classes, return_counts=True)
        if len(values) <= 1 or counts.min() >= n_folds:
            return classes
        small = values[np.argmin(counts)]
        others = values[values != small]
        distance = np.abs(others - small)
        # Smallest distance, ties to the upper neighbour: sort by (distance, -value).
        target = others[np.lexsort((-others, distance))[0]]
        classes[classes == small] = target


def assign_folds(
    table: pd.DataFrame, n_folds: int = 5, method: str = "depth", seed: int = 0
) -> pd.DataFrame:
    """Fold per train tile of a TileSet table: DataFrame ``id, fold`` in table order.

    ``seed`` only matters for ``method="coverage"`` (the depth deal is fully determined).
    """
    missing = [c for c in ("id", "split", "blank") if c not in table.columns]
    if missing:
        raise SaltsegError(f"tile table: missing column(s) {missing}")
    if method not in METHODS:
        raise SaltsegError(f"folds: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if int(n_folds) != n_folds or n_folds < 2:
        raise SaltsegError(f"folds: n_folds must be an integer >= 2, got {n_folds}")
    n_folds = int(n_folds)

    train = table[table["split"] == "train"].reset_index(drop=True)
    if train["id"].duplicated().any():
        raise SaltsegError(
            f"tile table: duplicate train id {train['id'][train['id'].duplicated()].iloc[0]!r}"
        )
    usable = ~train["blank"].to_numpy(dtype=bool)
    n_usable = int(usable.sum())
    if n_usable < n_folds:
        raise SaltsegError(
            f"folds: {n_folds} folds but only {n_usable} usable (non-blank) train tiles"
        )
    folds = np.full(len(train), -1, dtype=np.int64)
    pool = train[usable]

    if method == "depth":
        if "z" not in pool.columns:
            raise SaltsegError("tile table: missing column 'z' needed for depth folds")
        z = pool["z"].to_numpy(dtype=np.float64)
        ids = pool["id"].astype(str).to_numpy()
        # lexsort sorts by the last key first: unknown depth last, then depth, then id.
        order = np.lexsort((ids, np.nan_to_num(z, nan=0.0), np.isnan(z)))
        if np.isnan(z).any():
            logger.warning("folds: %d tiles without depth dealt last", int(np.isnan(z).sum()))
        fold_of_pool = np.empty(len(pool), dtype=np.int64)
        fold_of_pool[order] = np.arange(len(pool)) % n_folds
    else:
        if "coverage" not in pool.columns or pool["coverage"].isna().any():
            raise SaltsegError(
                "tile table: coverage fold method needs a coverage for every train tile"
            )
        classes = coverage_classes(pool["coverage"].to_numpy(), n_folds)
        # Imported here: scikit-learn takes 2 s to import, and FoldsScheme (above) is part of
        # the config that every `snakemake` and `saltseg` call reads; only this method needs it.
        from sklearn.model_selection import StratifiedKFold

        skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        fold_of_pool = np.empty(len(pool), dtype=np.int64)
        for k, (_, val) in enumerate(skf.split(np.zeros(len(pool)), classes)):
            fold_of_pool[val] = k

    folds[usable] = fold_of_pool
    logger.info(
        "folds (%s): %d train tiles, %d excluded (blank), sizes %s",
        method,
        len(train),
        int((~usable).sum()),
        np.bincount(fold_of_pool, minlength=n_folds).tolist(),
    )
    return pd.DataFrame({"id": train["id"].astype(str).to_numpy(), "fold": folds})


def read_folds(path: str | os.PathLike) -> pd.DataFrame:
    """A folds parquet (``id, fold``), validated."""
    path = Path(path)
    try:
        folds = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise SaltsegError(f"{path}: unreadable folds file ({exc})") from None
    if list(folds.columns) != ["id", "fold"]:
        raise SaltsegError(
            f"{path}: expected columns id,fold, got {','.join(map(str, folds.columns))}"
        )
    if folds["id"].duplicated().any():
        raise SaltsegError(
            f"{path}: duplicate id {folds['id'][folds['id'].duplicated()].iloc[0]!r}"
        )
    fold = folds["fold"].to_numpy()
    if not np.issubdtype(fold.dtype, np.integer) or (fold < -1).any():
        raise SaltsegError(f"{path}: fold must be an integer >= -1")
    used = np.unique(fold[fold >= 0])
    if len(used) and not np.array_equal(used, np.arange(used.max() + 1)):
        raise SaltsegError(f"{path}: folds must be numbered 0..K-1, found {used.tolist()}")
    return folds.assign(id=folds["id"].astype(str))


def save_folds(folds: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a folds table (``id, fold``) as parquet, atomically."""
    with atomic_path(path) as tmp:
        folds.to_parquet(tmp, index=False)
