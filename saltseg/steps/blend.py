"""Steps of workflow/rules/blend.smk: fold averages per model, a blend per stage, the final blend.

Prediction files are streamed: one input file is loaded at a time beside the running sums.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg import blend as blend_lib
from saltseg.data.folds import read_folds
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.probs import dequantize, load_probs, quantize, save_probs
from saltseg.postprocess import PostprocessConfig

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _load(path: PathLike) -> tuple[str, np.ndarray, np.ndarray]:
    ids, probs = load_probs(path)
    return str(path), ids.astype(str), probs


def _stream(paths: Sequence[PathLike]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    return (_load(p) for p in paths)


def _saved(probs: np.ndarray) -> np.ndarray:
    """What a map becomes after save/load, so tables score exactly what was written."""
    return dequantize(quantize(probs))


def average_folds(
    oofs: Sequence[PathLike],
    tests: Sequence[PathLike],
    folds: PathLike,
    oof: PathLike,
    test: PathLike,
) -> None:
    """One model's OOF maps (fold k's ids from fold k's file) and fold-averaged test maps."""
    fold_table = read_folds(folds)
    n_folds = blend_lib.oof_ids(fold_table)[2]
    if len(oofs) != n_folds:
        raise SaltsegError(f"{folds}: {n_folds} folds but {len(oofs)} OOF files")
    if not tests:
        raise SaltsegError(f"{test}: no test predictions to average")
    ids, maps = blend_lib.assemble_oof(_stream(oofs), fold_table)
    save_probs(oof, ids, maps)
    n = len(tests)
    test_ids, test_maps = blend_lib.weighted_mean(_stream(tests), [1.0 / n] * n)
    save_probs(test, test_ids, test_maps)


def _blend(
    weights: Mapping[str, float],
    oofs: Sequence[PathLike],
    tests: Sequence[PathLike],
    tiles: PathLike,
    oof: PathLike,
    test: PathLike,
    scores: PathLike,
) -> pd.DataFrame:
    """Blend named predictions (files in the order of ``weights``), write the blends and the
    OOF score table."""
    names = list(weights)
    if not (len(names) == len(oofs) == len(tests)):
        raise SaltsegError(f"{scores}: {len(names)} weights for {len(tests)} inputs")
    w = blend_lib.normalise_weights([weights[n] for n in names], str(scores))
    test_ids, test_maps = blend_lib.weighted_mean(_stream(tests), w)
    save_probs(test, test_ids, test_maps)

    maps: dict[str, np.ndarray] = {}
    ids0: np.ndarray | None = None
    for name, path in zip(names, oofs, strict=True):
        label, ids, probs = _load(path)
        if ids0 is None:
            ids0 = ids
        maps[name] = blend_lib.align(label, ids, probs, ids0)
    blended = sum(np.float32(wi) * maps[n] for n, wi in zip(names, w, strict=True))
    truth = load_tileset(tiles).train_masks(ids0)
    table = blend_lib.score_table(truth, maps, dict(weights), _saved(blended))
    save_probs(oof, ids0, blended)
    with atomic_path(scores) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    logger.info("blend scores:\n%s", table.to_string(index=False))
    return table


def blend_stage(
    weights: Mapping[str, float],
    oofs: Sequence[PathLike],
    tests: Sequence[PathLike],
    tiles: PathLike,
    oof: PathLike,
    test: PathLike,
    scores: PathLike,
) -> pd.DataFrame:
    """A stage's blend of its models, keyed ``stage/model``; OOF scores per model and blended."""
    return _blend(weights, oofs, tests, tiles, oof, test, scores)


def blend_final(
    weights: Mapping[str, float],
    oofs: Sequence[PathLike],
    tests: Sequence[PathLike],
    tiles: PathLike,
    oof: PathLike,
    test: PathLike,
    scores: PathLike,
) -> pd.DataFrame:
    """The cross-stage blend of ``final.blend``: stage blends ("stage2") or models ("stage3/b")."""
    return _blend(weights, oofs, tests, tiles, oof, test, scores)


def _blend_row(scores: PathLike, column: str) -> pd.Series:
    path = Path(scores)
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SaltsegError(f"{path}: unreadable score table ({exc})") from None
    if not {"model", column} <= set(table.columns):
        raise SaltsegError(f"{path}: not a score table with columns model, {column} "
                           "(written by an older saltseg? re-run the blend)")  # fmt: skip
    row = table[table["model"] == blend_lib.BLEND_ROW]
    if len(row) != 1:
        raise SaltsegError(f"{path}: no {blend_lib.BLEND_ROW!r} row, or more than one")
    return row[column]


def read_oof_threshold(scores: PathLike) -> float:
    """The blend's best OOF threshold from a score table written by :func:`blend_final`."""
    value = _blend_row(scores, "best_threshold").iloc[0]
    if not np.isfinite(value):
        raise SaltsegError(f"{scores}: the {blend_lib.BLEND_ROW!r} row has no best_threshold")
    return float(value)


def read_oof_empty_below(scores: PathLike) -> float | None:
    """The blend's best OOF "empty below" level (None: no level helped on the OOF tiles)."""
    value = _blend_row(scores, "best_empty_below").iloc[0]
    return float(value) if np.isfinite(value) else None


def resolve_oof_settings(cfg: PostprocessConfig, scores: PathLike) -> PostprocessConfig:
    """``cfg`` with its "oof" settings (threshold, empty_below) read from the score table."""
    update: dict = {}
    if cfg.threshold == "oof":
        update["threshold"] = read_oof_threshold(scores)
        logger.info("using the OOF threshold %.2f from %s", update["threshold"], scores)
    if cfg.empty_below == "oof":
        update["empty_below"] = read_oof_empty_below(scores)
        level = update["empty_below"]
        said = "none (no level helped)" if level is None else f"{level:.2f}"
        logger.info("using the OOF empty_below %s from %s", said, scores)
    return cfg.model_copy(update=update) if update else cfg
