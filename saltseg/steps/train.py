"""Steps of workflow/rules/train.smk: pseudo labels, pretraining, fold training, fold prediction."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np

from saltseg.config import MODES
from saltseg.data.folds import read_folds
from saltseg.data.tileset import TileSet, load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.atomic import write_json
from saltseg.io.ids import id_rows
from saltseg.io.masks import load_masks, save_masks
from saltseg.io.probs import load_probs, save_probs
from saltseg.metric import score
from saltseg.nn.checkpoint import load_checkpoint
from saltseg.nn.predict import empty_unless_salt, predict_maps
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec, PredictSpec
from saltseg.nn.train import train
from saltseg.pseudo import PseudoConfig, seeded_subset, select_pseudo

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _samples(
    tile_set: TileSet, rows: np.ndarray, z: np.ndarray, with_masks: bool = True
) -> Samples:
    rows = np.asarray(rows)
    masks = tile_set.masks[rows] if with_masks else None
    return Samples(tile_set.images[rows], masks, z[rows])


def _fold_rows(tile_set: TileSet, folds: PathLike, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows) of ``fold``; blank tiles (fold -1) are in neither."""
    fold_by_id = read_folds(folds).set_index("id")["fold"]
    train_ids = tile_set.table["split"].eq("train").to_numpy()
    fold_of = tile_set.table["id"].map(fold_by_id).to_numpy()
    if np.isnan(fold_of[train_ids].astype(float)).any():
        raise SaltsegError(f"{folds}: some train ids have no fold; re-run make_folds")
    if fold not in set(fold_of[train_ids].tolist()):
        raise SaltsegError(f"{folds}: fold {fold} does not exist")
    train_rows = np.flatnonzero(train_ids & (fold_of != fold) & (fold_of >= 0))
    val_rows = np.flatnonzero(train_ids & (fold_of == fold))
    return train_rows, val_rows


def _pseudo_samples(
    tile_set: TileSet, pseudo: PathLike, z: np.ndarray, max_images: int | None = None
) -> Samples:
    ids, masks = load_masks(pseudo)
    # A seeded random subset: the labels are already the confident ones.
    keep = seeded_subset(len(ids), max_images)
    if len(keep) < len(ids):  # no copy of the masks when all are kept
        ids, masks = ids[keep], masks[keep]
    rows, missing = id_rows(tile_set.table["id"], ids)
    if missing:
        raise SaltsegError(f"{pseudo}: id {missing[0]!r} is not in the prepared data")
    return Samples(tile_set.images[rows], masks, z[rows])


def _concat(a: Samples, b: Samples) -> Samples:
    return Samples(
        images=np.concatenate([a.images, b.images]),
        masks=np.concatenate([a.masks, b.masks]),
        z=np.concatenate([a.z, b.z]),
    )


def make_pseudo_labels(
    probs: PathLike,
    tiles: PathLike,
    labels: PathLike,
    counts: PathLike,
    settings: Mapping | None = None,
) -> dict:
    """Pseudo labels from a stage's blended test probabilities: the mask set and its counts.

    ``settings`` is the stage's ``pseudo`` section (its ``from`` names where ``probs`` came from).
    """
    cfg = PseudoConfig.parse({k: v for k, v in (settings or {}).items() if k != "from"}, "pseudo")
    ids, maps = load_probs(probs)
    ids = ids.astype(str)
    blank = load_tileset(tiles).test_blank(ids)
    kept, masks, facts = select_pseudo(ids, maps, blank, cfg)
    save_masks(labels, kept, masks)
    write_json(counts, facts, sort_keys=False)  # the report's column order
    return facts


def train_fold(
    tiles: PathLike,
    folds: PathLike,
    fold: int,
    spec: Mapping,
    checkpoint: PathLike,
    history: PathLike,
    curves: PathLike,
    *,
    mode: str = "scratch",
    pseudo: PathLike | None = None,
    init: PathLike | None = None,
    append_pseudo: Mapping | None = None,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    tensorboard: PathLike | None = None,
) -> None:
    """Train one fold: on the other folds' tiles, validated on this fold's tiles.

    mode "scratch" trains from the spec; "pretrain" starts from ``init`` (a model pretrained on
    pseudo labels); "append" adds the pseudo-labelled test tiles ``pseudo`` to the training set;
    "refine" does both, ``init`` being an earlier stage's model of this fold.
    """
    if mode not in MODES:
        raise SaltsegError(f"train_fold: unknown mode {mode!r} (choose from {', '.join(MODES)})")
    if mode in ("pretrain", "refine") and init is None:
        raise SaltsegError(f"train_fold: {mode} mode needs the model to start from (init)")
    tile_set = load_tileset(tiles)
    z = tile_set.depths()
    model_spec = ModelSpec.from_dict(spec)
    train_rows, val_rows = _fold_rows(tile_set, folds, fold)
    train_set = _samples(tile_set, train_rows, z)
    if mode in ("append", "refine"):
        if pseudo is None:
            raise SaltsegError(f"train_fold: {mode} mode needs pseudo labels")
        extra = _pseudo_samples(tile_set, pseudo, z, (append_pseudo or {}).get("max_images"))
        logger.info("fold %d: adding %d pseudo-labelled tiles", fold, len(extra.images))
        train_set = _concat(train_set, extra)
    logger.info(
        "fold %d: %d training and %d validation tiles", fold, len(train_set.images), len(val_rows)
    )
    train(
        model_spec,
        train_set,
        _samples(tile_set, val_rows, z),
        checkpoint,
        history,
        curves,
        init_checkpoint=init if mode in ("pretrain", "refine") else None,
        device=device,
        threads=threads,
        precision=precision,
        seed=model_spec.train.seed + fold,
        tensorboard=tensorboard or None,
    )


def pretrain_on_pseudo(
    tiles: PathLike,
    pseudo: PathLike,
    spec: Mapping,
    checkpoint: PathLike,
    history: PathLike,
    curves: PathLike,
    *,
    val_max: int = 1000,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    tensorboard: PathLike | None = None,
) -> None:
    """Train on pseudo-labelled test tiles; the labelled train tiles serve as validation."""
    tile_set = load_tileset(tiles)
    z = tile_set.depths()
    model_spec = ModelSpec.from_dict(spec)
    train_set = _pseudo_samples(tile_set, pseudo, z)
    if len(train_set.images) == 0:
        raise SaltsegError(f"{pseudo}: no pseudo labels to pretrain on")
    usable = np.flatnonzero(tile_set.table["split"].eq("train") & ~tile_set.table["blank"])
    if len(usable) > val_max:
        usable = np.sort(np.random.default_rng(0).choice(usable, val_max, replace=False))
    logger.info(
        "pretraining on %d pseudo labels, validating on %d", len(train_set.images), len(usable)
    )
    train(
        model_spec,
        train_set,
        _samples(tile_set, usable, z) if len(usable) else None,
        checkpoint,
        history,
        curves,
        device=device,
        threads=threads,
        precision=precision,
        seed=model_spec.train.seed,
        tensorboard=tensorboard or None,
    )


CLASSIFIER_THRESHOLDS = np.round(np.arange(0.0, 0.96, 0.05), 2)


def oof_classifier_threshold(
    truth: np.ndarray, maps: np.ndarray, image: np.ndarray, pixel_threshold: float = 0.5
) -> tuple[float, float]:
    """(the image-head threshold in 0, 0.05, ..., 0.95 with the best metric on these tiles, its
    gain over no emptying); ties go to the lowest threshold (the fewest tiles emptied)."""
    masks = maps > pixel_threshold
    base = score(truth, masks)
    best_t, best = 0.0, base
    for t in CLASSIFIER_THRESHOLDS:
        value = score(truth, masks & (image >= t)[:, None, None])
        if value > best + 1e-12:
            best_t, best = float(t), value
    return best_t, best - base


def predict_fold(
    checkpoint: PathLike,
    tiles: PathLike,
    folds: PathLike,
    fold: int,
    oof: PathLike,
    test: PathLike,
    *,
    settings: Mapping | None = None,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
) -> None:
    """Probabilities of one fold model for its validation tiles (OOF) and all test tiles.

    ``settings`` is the model's ``predict`` section (batch size, TTA, snapshots, classifier
    threshold); training leaves it out of the checkpoint, so that changing it re-runs prediction
    only. A key left out (or None) keeps the checkpoint's choice. With an image head, a
    classifier threshold of "oof" is the one that maximises the metric of this fold's OOF tiles
    (:func:`oof_classifier_threshold`), applied to the OOF and the test maps alike.
    """
    given = dict(settings or {})
    PredictSpec.parse(given, "predict")  # a bad key fails here, not deep in prediction
    tile_set = load_tileset(tiles)
    z = tile_set.depths()
    _, val_rows = _fold_rows(tile_set, folds, fold)
    test_rows = tile_set.rows_of("test")
    rows = np.concatenate([val_rows, test_rows])
    ckpt = load_checkpoint(checkpoint)
    common = {
        "device": device,
        "threads": threads,
        "precision": precision,
        "batch_size": given.get("batch_size"),
        "snapshots": given.get("snapshots"),
        "compile": given.get("compile"),
    }
    predict_spec = ckpt.spec.predict
    tta = given.get("tta")
    tta = predict_spec.tta if tta is None else tta
    test_tta = given.get("test_tta", predict_spec.test_tta)
    test_tta = tta if test_tta is None else test_tta
    # One pass over OOF and test tiles when they share the TTA, else one pass each.
    parts = (
        [(rows, tta)] if list(test_tta) == list(tta) else [(val_rows, tta), (test_rows, test_tta)]
    )
    results = [
        predict_maps(ckpt, _samples(tile_set, r, z, with_masks=False), tta=t, **common)
        for r, t in parts
    ]
    maps = np.concatenate([m for m, _ in results])
    image = None if results[0][1] is None else np.concatenate([i for _, i in results])
    threshold = given.get("classifier_threshold")
    if image is not None and threshold is None:
        threshold = ckpt.spec.predict.classifier_threshold
    if image is not None and threshold is not None:
        if threshold == "oof":
            n = len(val_rows)
            threshold, gain = oof_classifier_threshold(
                tile_set.masks[val_rows], maps[:n], image[:n]
            )
            logger.info(
                "fold %d: image-head threshold %.2f measured on the fold's OOF tiles "
                "(metric %+.4f against none)", fold, threshold, gain,
            )  # fmt: skip
        threshold = float(threshold)
        empty_unless_salt(maps, image, threshold)
    used = threshold if image is not None else None
    ids = tile_set.ids
    save_probs(oof, ids[val_rows], maps[: len(val_rows)], classifier_threshold=used)
    save_probs(test, ids[test_rows], maps[len(val_rows) :], classifier_threshold=used)
