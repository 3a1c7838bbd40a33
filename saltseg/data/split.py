"""Hold out part of the labelled tiles as a test set with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from saltseg.data.folds import coverage_classes
from saltseg.errors import SaltsegError


def holdout(table: pd.DataFrame, fraction: float, seed: int = 0) -> np.ndarray:
    """Bool per row of a tile table: the train tiles to hold out, ``fraction`` of them.

    Stratified by salt coverage (empty, then tenths), so that the held-out tiles have the
    labelled tiles' share of empty and of large masks; seeded, and independent of row order.
    """
    if not 0.0 < fraction < 1.0:
        raise SaltsegError(f"split: the test fraction must be between 0 and 1, got {fraction}")
    train = (table["split"] == "train").to_numpy()
    n_train = int(train.sum())
    n_out = round(fraction * n_train)
    if n_out < 1 or n_out >= n_train:
        raise SaltsegError(
            f"split: {fraction} of {n_train} labelled tiles leaves no tile on one side"
        )
    rows = np.flatnonzero(train)
    rows = rows[np.argsort(table["id"].to_numpy()[rows].astype(str), kind="stable")]
    classes = coverage_classes(table["coverage"].to_numpy()[rows], 2)
    values, sizes = np.unique(classes, return_counts=True)
    # Each class's share, rounded so that the total is exactly n_out (largest remainders).
    quota = fraction * sizes
    take = np.floor(quota).astype(int)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: n_out - int(take.sum())]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(rows[classes == c])[:k] for c, k in zip(values, take, strict=True)]
    out = np.zeros(len(table), dtype=bool)
    out[np.concatenate(chosen)] = True
    return out
