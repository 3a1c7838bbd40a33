"""Combine fold models and model families into one stage prediction, and score it out of fold.

Per model (:func:`average_folds_files`):
  (a) fold average: the mean of a model's fold-model test probability maps;
  (b) OOF assembly: each train id's map taken from the fold model that held it out;
Per stage, and across stages for the final blend (:func:`blend_named_files`):
  (c) blend: weighted mean over models (weights normalised), for OOF and test alike;
  (d) a score table: OOF metric per model and for the blend at 0.5, and the best threshold
      (searched on a grid, default 0.30..0.70 step 0.01) with the metric there.

Score table CSV columns: ``model, weight, images, oof_score, best_threshold, best_score``; one row
per model (weight normalised) and a last row ``model == "blend"`` (weight 1.0), whose
``best_threshold`` is the "oof" threshold of post-processing (:func:`read_oof_threshold`).
Test maps are streamed: one input file is loaded at a time beside the running sums.
``tiles_dir`` is the prepared tile-set folder (saltseg.data.save_tileset) or its tiles.parquet.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg import metric
from saltseg.atomic import atomic_path
from saltseg.errors import SaltsegError
from saltseg.folds import read_folds
from saltseg.ids import id_rows
from saltseg.probs import dequantize, load_probs, quantize, save_probs

logger = logging.getLogger(__name__)

THRESHOLDS = np.round(np.arange(0.30, 0.705, 0.01), 2)
TABLE_COLUMNS = ["model", "weight", "images", "oof_score", "best_threshold", "best_score"]
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


def _reorder(label: str, ids: np.ndarray, probs: np.ndarray, wanted: np.ndarray) -> np.ndarray:
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


def _weighted_mean(
    items: Iterable[tuple[str, np.ndarray, np.ndarray]], weights: Sequence[float]
) -> Pred:
    """Weighted mean of labelled (ids, probs); ids follow the first item, weights are used as is."""
    total: np.ndarray | None = None
    ids0: np.ndarray | None = None
    for (label, ids, probs), w in zip(items, weights, strict=True):
        ids = np.asarray(ids).astype(str)
        if total is None:
            ids0, total = ids, np.zeros(np.shape(probs), dtype=np.float32)
        else:
            probs = _reorder(label, ids, probs, ids0)
            if probs.shape != total.shape:
                raise SaltsegError(
                    f"{label}: maps shaped {probs.shape[1:]}, first input {total.shape[1:]}"
                )
        total += np.float32(w) * np.asarray(probs, dtype=np.float32)
    if total is None:
        raise SaltsegError("ensemble: no inputs")
    return ids0, total


def fold_average(preds: Sequence[Pred]) -> Pred:
    """Mean of the fold models' test maps (ids ordered as in the first)."""
    n = len(preds)
    if n == 0:
        raise SaltsegError("fold average: no fold predictions")
    items = ((f"fold {k}", ids, p) for k, (ids, p) in enumerate(preds))
    return _weighted_mean(items, [1.0 / n] * n)


def blend(preds: Sequence[Pred], weights: Sequence[float]) -> Pred:
    """Weighted mean of model maps with weights normalised to sum 1 (ids as in the first)."""
    w = normalise_weights(weights)
    if len(w) != len(preds):
        raise SaltsegError(f"blend: {len(preds)} inputs but {len(w)} weights")
    items = ((f"input {k}", ids, p) for k, (ids, p) in enumerate(preds))
    return _weighted_mean(items, w)


def _oof_ids(folds: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    used = folds[folds["fold"] >= 0]
    ids = used["id"].astype(str).to_numpy()
    fold = used["fold"].to_numpy()
    return ids, fold, int(fold.max()) + 1 if len(fold) else 0


def _assemble(items: Iterable[tuple[str, np.ndarray, np.ndarray]], folds: pd.DataFrame) -> Pred:
    ids, fold, n_folds = _oof_ids(folds)
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


def assemble_oof(preds_by_fold: Sequence[Pred], folds: pd.DataFrame) -> Pred:
    """Out-of-fold maps: id ``i`` of fold ``k`` taken from ``preds_by_fold[k]``.

    Ids with fold -1 are left out; the result follows the order of ``folds``.
    Each fold's input may hold extra ids (only its validation ids are used).
    """
    items = ((f"fold {k}", ids, p) for k, (ids, p) in enumerate(preds_by_fold))
    return _assemble(items, folds)


def threshold_scores(
    truth: np.ndarray, probs: np.ndarray, thresholds: Sequence[float] = THRESHOLDS
) -> np.ndarray:
    """Competition metric of ``probs > t`` for every t (one float per threshold)."""
    return np.array([metric.score(truth, probs > t) for t in thresholds])


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


def score_row(
    name: str, weight: float, truth: np.ndarray, probs: np.ndarray, thresholds=THRESHOLDS
) -> dict:
    t, s = best_threshold(truth, probs, thresholds)
    return {
        "model": name,
        "weight": float(weight),
        "images": int(len(probs)),
        "oof_score": metric.score(truth, probs > 0.5),
        "best_threshold": t,
        "best_score": s,
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
        raise SaltsegError(f"ensemble: a model may not be called {BLEND_ROW!r}")
    w = dict(zip(oofs, normalise_weights([weights[n] for n in oofs]), strict=True))
    rows = [score_row(n, w[n], truth, p, thresholds) for n, p in oofs.items()]
    rows.append(score_row(BLEND_ROW, 1.0, truth, blended, thresholds))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def read_oof_threshold(table_csv: str | os.PathLike) -> float:
    """The blend's best OOF threshold from a score table written by this module."""
    path = Path(table_csv)
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SaltsegError(f"{path}: unreadable score table ({exc})") from None
    if not {"model", "best_threshold"} <= set(table.columns):
        raise SaltsegError(f"{path}: not a score table (needs columns model, best_threshold)")
    row = table[table["model"] == BLEND_ROW]
    if len(row) != 1 or not np.isfinite(row["best_threshold"].iloc[0]):
        raise SaltsegError(f"{path}: no {BLEND_ROW!r} row with a best_threshold")
    return float(row["best_threshold"].iloc[0])


# ---------------------------------------------------------------- file wrappers


def _load(path: str | os.PathLike) -> tuple[str, np.ndarray, np.ndarray]:
    ids, probs = load_probs(path)
    return str(path), ids.astype(str), probs


def _saved(probs: np.ndarray) -> np.ndarray:
    """What a map becomes after save/load, so tables score exactly what was written."""
    return dequantize(quantize(probs))


def train_truth(tiles_dir: str | os.PathLike, ids: np.ndarray) -> np.ndarray:
    """Train masks of ``ids`` (bool (N, 101, 101)) from a tile set (folder or its tiles.parquet)."""
    from saltseg.data import load_tileset

    ts = load_tileset(tiles_dir)
    train = np.flatnonzero((ts.table["split"] == "train").to_numpy())
    rows, missing = id_rows(ts.table["id"].astype(str).to_numpy()[train], ids)
    if missing:
        raise SaltsegError(
            f"{tiles_dir}: {len(missing)} OOF id(s) are not train tiles, e.g. {missing[0]!r}"
        )
    return np.asarray(ts.masks[train[rows]], dtype=bool)


def _write_table(table: pd.DataFrame, out_table: str | os.PathLike) -> None:
    with atomic_path(out_table) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")


def blend_files(inputs: Sequence[tuple[str | os.PathLike, float]], out: str | os.PathLike) -> Pred:
    """Weighted blend of probability files (weights normalised); ids follow the first file."""
    if not inputs:
        raise SaltsegError(f"{out}: nothing to blend")
    w = normalise_weights([weight for _, weight in inputs], str(out))
    ids, probs = _weighted_mean((_load(path) for path, _ in inputs), w)
    save_probs(out, ids, probs)
    return ids, probs


def blend_oof_files(
    inputs: Mapping[str, tuple[str | os.PathLike, float]],
    tiles_dir: str | os.PathLike,
    out_oof: str | os.PathLike,
    out_table: str | os.PathLike,
    thresholds: Sequence[float] = THRESHOLDS,
) -> pd.DataFrame:
    """Blend named OOF files ``{name: (path, weight)}`` and write the blend and its score table.

    All files must hold the same ids (e.g. per-model OOF files of stages sharing one folds file).
    """
    if not inputs:
        raise SaltsegError(f"{out_table}: nothing to blend")
    names = list(inputs)
    weights = {n: float(inputs[n][1]) for n in names}
    w = normalise_weights(list(weights.values()), str(out_table))
    oofs: dict[str, np.ndarray] = {}
    ids0: np.ndarray | None = None
    for name in names:
        label, ids, probs = _load(inputs[name][0])
        if ids0 is None:
            ids0 = ids
        oofs[name] = _reorder(label, ids, probs, ids0)
    blended = sum(np.float32(wi) * oofs[n] for n, wi in zip(names, w, strict=True))
    table = score_table(train_truth(tiles_dir, ids0), oofs, weights, _saved(blended), thresholds)
    save_probs(out_oof, ids0, blended)
    _write_table(table, out_table)
    logger.info("blend scores:\n%s", table.to_string(index=False))
    return table


def average_folds_files(
    oof_paths: Sequence[str | os.PathLike],
    test_paths: Sequence[str | os.PathLike],
    folds_parquet: str | os.PathLike,
    out_oof: str | os.PathLike,
    out_test: str | os.PathLike,
) -> None:
    """One model's OOF maps (fold k's ids from fold k's file) and fold-averaged test maps."""
    folds = read_folds(folds_parquet)
    n_folds = _oof_ids(folds)[2]
    if len(oof_paths) != n_folds:
        raise SaltsegError(f"{folds_parquet}: {n_folds} folds but {len(oof_paths)} OOF files")
    if not test_paths:
        raise SaltsegError(f"{out_test}: no test predictions to average")
    ids, oof = _assemble((_load(p) for p in oof_paths), folds)
    save_probs(out_oof, ids, oof)
    n = len(test_paths)
    test_ids, test = _weighted_mean((_load(p) for p in test_paths), [1.0 / n] * n)
    save_probs(out_test, test_ids, test)


def blend_named_files(
    weights: Mapping[str, float],
    oof_paths: Sequence[str | os.PathLike],
    test_paths: Sequence[str | os.PathLike],
    tiles_dir: str | os.PathLike,
    out_oof: str | os.PathLike,
    out_test: str | os.PathLike,
    out_table: str | os.PathLike,
) -> pd.DataFrame:
    """Blend named predictions (OOF and test files given in the order of ``weights``) and score
    the OOF blend: a stage's models, or the final cross-stage blend."""
    names = list(weights)
    if not (len(names) == len(oof_paths) == len(test_paths)):
        raise SaltsegError(f"{out_table}: {len(names)} weights for {len(test_paths)} inputs")
    blend_files([(p, weights[n]) for n, p in zip(names, test_paths, strict=True)], out_test)
    inputs = {n: (p, weights[n]) for n, p in zip(names, oof_paths, strict=True)}
    return blend_oof_files(inputs, tiles_dir, out_oof, out_table)
