"""Steps of workflow/rules/postprocess.smk: final masks, their OOF ablation, the submission, the
mosaic picture."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg import postprocess as pp
from saltseg.data.folds import read_folds
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.figures import save_figure
from saltseg.io.ids import id_rows, take
from saltseg.io.masks import load_masks, save_masks
from saltseg.io.probs import load_probs
from saltseg.io.submission import read_answers, score_files, write_submission
from saltseg.mosaic.layout import read_layout
from saltseg.mosaic.plot import tileset_mosaics_figure
from saltseg.steps.blend import resolve_oof_settings

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _settings(
    settings: Mapping | pp.PostprocessConfig | None, scores: PathLike
) -> pp.PostprocessConfig:
    """The postprocess config, its "oof" threshold and empty_below read from the score table."""
    cfg = (
        settings
        if isinstance(settings, pp.PostprocessConfig)
        else pp.PostprocessConfig.parse(settings, "postprocess")
    )
    return resolve_oof_settings(cfg, scores)


def _write_ablation(table: pd.DataFrame, path: PathLike) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")


def answers_file(truth: PathLike | None = None, answers: PathLike | None = None) -> Path | None:
    """The test answers (``id,rle_mask``): a file, or the one of a synthetic dataset folder."""
    if answers is not None:
        return Path(answers)
    return Path(truth) / "truth" / "test.csv" if truth is not None else None


def postprocess(
    probs: PathLike,
    scores: PathLike,
    tiles: PathLike,
    masks: PathLike,
    stats: PathLike,
    ablation: PathLike,
    settings: Mapping | pp.PostprocessConfig | None = None,
    *,
    layout: PathLike | None = None,
    truth: PathLike | None = None,
    answers: PathLike | None = None,
) -> pd.DataFrame:
    """Post-process the final blend's test maps into masks; write per-step stats and, when the
    test truth is known (an ``answers`` file, or the synthetic ``truth`` folder), each rule's
    effect on the test score.

    ``scores`` (the final score table) gives the "oof" threshold and empty_below level;
    ``layout`` the mosaics, needed when the mosaic rules are on (given with ``truth``, it also
    lets the ablation try them when they are off; the workflow passes it only when they are on).
    Without truth ``ablation`` gets the table's header only.
    """
    cfg = _settings(settings, scores)
    ids, maps = load_probs(probs)
    ids = ids.astype(str)
    tile_set = load_tileset(tiles)
    blank = tile_set.test_blank(ids)
    mosaic = None
    answers = answers_file(truth, answers)
    if layout is not None and (cfg.mosaic_rules.enabled or answers is not None):
        train = tile_set.split("train")
        mosaic = {
            "layout": read_layout(layout),
            "train_ids": train.ids,
            "train_masks": np.asarray(train.masks, dtype=bool),
        }
    # Answers may cover part of the test tiles (saltseg split --keep-unlabelled): score those.
    scored, truth_masks = (
        read_answers(answers, ids.tolist()) if answers is not None else (None, None)
    )

    final, table = pp.postprocess(maps, ids, blank, cfg, mosaic=mosaic)
    logger.info("post-processing:\n%s", table.to_string(index=False))
    if truth_masks is not None:
        effects = pp.ablation(maps, ids, blank, truth_masks, cfg, mosaic, scored=scored)
    else:  # no test truth: keep the declared output, with nothing measured
        effects = pd.DataFrame(columns=pp.ABLATION_COLUMNS)
    save_masks(masks, ids, final)
    with atomic_path(stats) as tmp:
        table.to_csv(tmp, index=False)
    _write_ablation(effects, ablation)
    return table


def postprocess_oof(
    oof: PathLike,
    scores: PathLike,
    folds: PathLike,
    tiles: PathLike,
    ablation: PathLike,
    settings: Mapping | pp.PostprocessConfig | None = None,
    *,
    layout: PathLike | None = None,
) -> pd.DataFrame:
    """Post-process the final blend's out-of-fold maps as the test maps are, fold by fold, and
    write the OOF metric of the full config and of each one-rule change over every labelled tile
    (:func:`saltseg.postprocess.oof_ablation`); its "full" row is the OOF metric of what the run
    would submit. The blank labelled tiles, in no fold and so without a map, get empty maps:
    predicted empty, as the blank-tile rule predicts blank test tiles."""
    cfg = _settings(settings, scores)
    oof_ids, oof_maps = load_probs(oof)
    train = load_tileset(tiles).split("train")
    ids = train.ids
    fold_table = read_folds(folds)
    fold = take(folds, fold_table["id"].astype(str).to_numpy(), fold_table["fold"].to_numpy(), ids)
    rows, extra = id_rows(ids, oof_ids.astype(str))
    if extra:
        raise SaltsegError(f"{oof}: {len(extra)} id(s) are not train tiles, e.g. {extra[0]!r}")
    without = np.ones(len(ids), dtype=bool)
    without[rows] = False
    if (fold[without] >= 0).any():
        first = ids[without & (fold >= 0)][0]
        raise SaltsegError(f"{oof}: no out-of-fold map for train tile {first!r}, which has a fold")
    maps = np.zeros((len(ids), *oof_maps.shape[1:]), dtype=oof_maps.dtype)
    maps[rows] = oof_maps
    table = pp.oof_ablation(
        maps,
        ids,
        fold,
        train.table["blank"].to_numpy(dtype=bool),
        np.asarray(train.masks, dtype=bool),
        cfg,
        layout=read_layout(layout) if layout is not None else None,
    )
    _write_ablation(table, ablation)
    return table


def submission(
    masks: PathLike,
    tiles: PathLike,
    csv: PathLike,
    score: PathLike,
    truth: PathLike | None = None,
    answers: PathLike | None = None,
) -> dict:
    """Write the submission for every test id; score it when the test truth is known (an
    ``answers`` file, or the synthetic ``truth`` folder), on the tiles it answers."""
    tile_set = load_tileset(tiles)
    test_ids = tile_set.ids[tile_set.rows_of("test")].tolist()
    if not test_ids:
        raise SaltsegError(f"{tiles}: no test tiles, so nothing to submit")
    ids, final = load_masks(masks)
    write_submission(test_ids, take(masks, ids, final, test_ids), csv, expected_ids=test_ids)
    answers = answers_file(truth, answers)
    if answers is not None:
        result = score_files(csv, answers, partial=True)
        unscored = (
            f" ({result['unscored']} test tiles without answers)" if result["unscored"] else ""
        )
        text = "\n".join(
            [f"test score: {result['score']:.4f} on {result['images']} images{unscored}"]
            + [f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in result.items()]
        )
    else:
        result = {"score": None, "images": len(test_ids)}
        text = f"test truth unknown: submit {csv} to Kaggle to score its {len(test_ids)} images"
    with atomic_path(score) as tmp:
        tmp.write_text(text + "\n")
    logger.info("%s", text.splitlines()[0])
    return result


def plot_mosaics(layout: PathLike, masks: PathLike, tiles: PathLike, png: PathLike) -> None:
    """Picture of the largest mosaics with train masks and post-processed test masks."""
    test_ids, test_masks = load_masks(masks)
    fig, shown = tileset_mosaics_figure(
        read_layout(layout), load_tileset(tiles), dict(zip(test_ids, test_masks, strict=True))
    )
    save_figure(fig, png, dpi=90)
    logger.info("wrote %s (mosaics %s)", png, shown)
