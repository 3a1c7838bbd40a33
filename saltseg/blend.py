"""Blends: weighted means of probability maps, out-of-fold assembly, and their OOF scores.

Per model (the ``average_folds`` rule):
  (a) fold average: the mean of a model's fold-model test probability maps;
  (b) OOF assembly: each train id's map taken from the fold model that held it out;
Per stage (``blend_stage``) and across stages (``blend_final``):
  (c) blend: weighted mean over models (weights normalised), for OOF and test alike;
  (d) a score table: OOF metric per model and for the blend at 0.5, and the best threshold
      (searched on a grid, default 0.30..0.70 step 0.01) with the metric there; then, at that
      threshold, the best "empty below" level (grid 0.55..0.95 step 0.05): tiles whose largest
      probability is under it are predicted empty, so a tile needs one confident salt pixel.

Score table columns: ``model, weight, images, oof_score, best_threshold, best_score,
best_empty_below, empty_below_score``; one row per model (weight normalised) and a last row
``model == "blend"`` (weight 1.0), whose ``best_threshold`` and ``best_empty_below`` are the
"oof" settings of post-processing (``best_empty_below`` is empty where no level beats none).
Inputs are iterables of ``(label, ids, probs)`` so that callers can stream maps from files one
at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from saltseg import metric
from saltseg.errors import SaltsegError
from saltseg.io.ids import id_rows
from saltseg.postprocess import binarise

logger = logging.getLogger(__name__)

THRESHOLDS = np.round(np.arange(0.30, 0.705, 0.01), 2)
EMPTY_BELOW = np.round(np.arange(0.55, 0.955, 0.05), 2)
TABLE_COLUMNS = [
    "model",
    "weight",
    "images",
    "oof_score",
    "best_threshold",
    "best_score",
    "best_empty_below",
    "empty_below_score",
]
BLEND_ROW = "blend"

Pred = tuple[np.ndarray, np.ndarray]  # (ids (N,), probs (N, H, W))


def normalise_weights(weights: Sequence[float], what: str = "blend") -> np.ndarray:
    """Weights scaled to sum to 1; negative, non-finite or all-zero weights are errors."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0:
        raise SaltsegError(f"{what}: nothing to blend")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise SaltsegError(f"{what}: weights must be >= 0 with a positive sum, got {w.tolist()}")
    return w / w.sum()


def align(label: str, ids: np.ndarray, probs: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``probs`` in the order of ``wanted``; the id sets must be equal."""
    if len(ids) == len(wanted) and np.array_equal(ids, wanted):
        return probs
    rows, missing = id_rows(ids, wanted)
    extra = sorted(set(ids.tolist()) - set(wanted.tolist()))
    if missing or extra:
        problem = (
            f"{len(missing)} id(s) missing, e.g. {missing[0]!r}"
            if missing
            else f"{len(extra)} unexpected id(s), e.g. {extra[0]!r}"
        )
        raise SaltsegError(f"{label}: {problem} (compared with the first input)")
    return probs[rows]


def weighted_mean(
    items: Iterable[tuple[str, np.ndarray, np.ndarray]], weights: Sequence[float]
) -> Pred:
    """Weighted mean of labelled ``(label, ids, probs)``: a fold average (weights 1/K) or a blend
    (weights from :func:`normalise_weights`); ids follow the first item, weights are used as is,
    labels name an input in errors. Items may be a generator, read one at a time."""
    total: np.ndarray | None = None
    ids0: np.ndarray | None = None
    for (label, ids, probs), w in zip(items, weights, strict=True):
        ids = np.asarray(ids).astype(str)
        if total is None:
            ids0, total = ids, np.zeros(np.shape(probs), dtype=np.float32)
        else:
            probs = align(label, ids, probs, ids0)
            if probs.shape != total.shape:
                raise SaltsegError(
                    f"{label}: maps shaped {probs.shape[1:]}, first input {total.shape[1:]}"
                )
        total += np.float32(w) * np.asarray(probs, dtype=np.float32)
    if total is None:
        raise SaltsegError("blend: no inputs")
    return ids0, total


def oof_ids(folds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """(ids, fold of each, number of folds) of the tiles that have a fold."""
    used = folds[folds["fold"] >= 0]
    ids = used["id"].astype(str).to_numpy()
    fold = used["fold"].to_numpy()
    return ids, fold, int(fold.max()) + 1 if len(fold) else 0


def assemble_oof(items: Iterable[tuple[str, np.ndarray, np.ndarray]], folds: pd.DataFrame) -> Pred:
    """Out-of-fold maps from labelled ``(label, ids, probs)`` per fold, in fold order: id ``i``
    of fold ``k`` is taken from the k-th item, which may hold other ids too.

    Ids with fold -1 are left out; the result follows the order of ``folds``.
    """
    ids, fold, n_folds = oof_ids(folds)
    out: np.ndarray | None = None
    k = -1
    for k, (label, fold_ids, probs) in enumerate(items):
        if k >= n_folds:
            raise SaltsegError(f"{label}: more OOF inputs than the {n_folds} folds")
        rows, missing = id_rows(np.asarray(fold_ids).astype(str), ids[fold == k])
        if missing:
            raise SaltsegError(
                f"{label}: {len(missing)} validation id(s) of fold {k} missing, e.g. {missing[0]!r}"
            )
        if out is None:
            out = np.zeros((len(ids), *probs.shape[1:]), dtype=np.float32)
        out[fold == k] = probs[rows]
    if k + 1 != n_folds:
        raise SaltsegError(f"OOF assembly: {k + 1} fold input(s) for {n_folds} folds")
    return ids, out


def threshold_scores(
    truth: np.ndarray, probs: np.ndarray, thresholds: Sequence[float] = THRESHOLDS
) -> np.ndarray:
    """Competition metric of ``probs > t`` for every t (one float per threshold), binarised as
    post-processing will binarise with the tuned threshold."""
    return np.array([metric.score(truth, binarise(probs, t)) for t in thresholds])


def best_threshold(
    truth: np.ndarray, probs: np.ndarray, thresholds: Sequence[float] = THRESHOLDS
) -> tuple[float, float]:
    """(threshold, score) maximising the metric; on a tie the one closest to 0.5 (then lowest).

    Preferring 0.5 keeps a flat optimum from drifting to the edge of the grid.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    scores = threshold_scores(truth, probs, thresholds)
    best = np.flatnonzero(scores == scores.max())
    i = int(best[np.lexsort((thresholds[best], np.abs(thresholds[best] - 0.5)))[0]])
    return float(thresholds[i]), float(scores[i])


def best_empty_below(
    truth: np.ndarray,
    probs: np.ndarray,
    threshold: float,
    levels: Sequence[float] = EMPTY_BELOW,
) -> tuple[float | None, float]:
    """(level, score): the metric of ``probs > threshold`` with the tiles whose largest
    probability is under ``level`` predicted empty, at the best level above ``threshold``;
    (None, score without the rule) when no level beats it (ties go to the lower level)."""
    masks = binarise(probs, threshold)
    kept = metric.image_scores(truth, masks)
    # An empty prediction scores 1 on an empty truth and 0 otherwise.
    emptied = (~np.asarray(truth).reshape(len(kept), -1).any(axis=1)).astype(np.float64)
    peak = np.asarray(probs).reshape(len(kept), -1).max(axis=1)
    best: tuple[float | None, float] = (None, float(kept.mean()) if kept.size else float("nan"))
    for level in sorted(float(v) for v in levels if v > threshold):
        s = float(np.where(peak < level, emptied, kept).mean())
        if s > best[1]:
            best = (level, s)
    return best


def score_row(
    name: str, weight: float, truth: np.ndarray, probs: np.ndarray, thresholds=THRESHOLDS
) -> dict:
    t, s = best_threshold(truth, probs, thresholds)
    level, level_score = best_empty_below(truth, probs, t)
    return {
        "model": name,
        "weight": float(weight),
        "images": int(len(probs)),
        "oof_score": metric.score(truth, binarise(probs, 0.5)),
        "best_threshold": t,
        "best_score": s,
        "best_empty_below": np.nan if level is None else level,
        "empty_below_score": level_score,
    }


def score_table(
    truth: np.ndarray,
    oofs: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    blended: np.ndarray,
    thresholds: Sequence[float] = THRESHOLDS,
) -> pd.DataFrame:
    """One row per model plus the blend row; all maps aligned with ``truth``."""
    if BLEND_ROW in oofs:
        raise SaltsegError(f"blend: a model may not be called {BLEND_ROW!r}")
    w = dict(zip(oofs, normalise_weights([weights[n] for n in oofs]), strict=True))
    rows = [score_row(n, w[n], truth, p, thresholds) for n, p in oofs.items()]
    rows.append(score_row(BLEND_ROW, 1.0, truth, blended, thresholds))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
