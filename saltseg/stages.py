"""Fold training, pseudo-label pretraining and fold prediction on the prepared tile set."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from saltseg.data import TileSet, load_tileset
from saltseg.errors import SaltsegError
from saltseg.folds import read_folds
from saltseg.ids import id_rows
from saltseg.masks_io import load_masks
from saltseg.probs import save_probs
from saltseg.samples import Samples

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def depths(table: pd.DataFrame) -> np.ndarray:
    """Depths in feet with unknown values filled by the median of the known ones (0 if none).

    Some redistributions ship depths for train ids only; the depth channel then sees the median.
    """
    z = table["z"].to_numpy(dtype=np.float64)
    known = ~np.isnan(z)
    if not known.all():
        fill = float(np.median(z[known])) if known.any() else 0.0
        logger.warning("%d tiles without depth: using %.0f", int((~known).sum()), fill)
        z = np.where(known, z, fill)
    return z.astype(np.float32)


def _samples(tiles: TileSet, rows: np.ndarray, z: np.ndarray, with_masks: bool = True) -> Samples:
    rows = np.asarray(rows)
    return Samples(tiles.images[rows], tiles.masks[rows] if with_masks else None, z[rows])


def _fold_rows(tiles: TileSet, folds_path: PathLike, fold: int) -> tuple[np.ndarray, np.ndarray]:
    folds = read_folds(folds_path).set_index("id")["fold"]
    train_ids = tiles.table["split"].eq("train").to_numpy()
    fold_of = tiles.table["id"].map(folds).to_numpy()
    if np.isnan(fold_of[train_ids].astype(float)).any():
        raise SaltsegError(f"{folds_path}: some train ids have no fold; re-run make_folds")
    if fold not in set(fold_of[train_ids].tolist()):
        raise SaltsegError(f"{folds_path}: fold {fold} does not exist")
    train_rows = np.flatnonzero(train_ids & (fold_of != fold) & (fold_of >= 0))
    val_rows = np.flatnonzero(train_ids & (fold_of == fold))
    return train_rows, val_rows


def _pseudo_samples(
    tiles: TileSet, pseudo_path: PathLike, z: np.ndarray, max_images: int | None = None
) -> Samples:
    ids, masks = load_masks(pseudo_path)
    if max_images is not None and len(ids) > max_images:
        # Keep a seeded random subset: the labels are already the confident ones.
        keep = np.sort(np.random.default_rng(0).choice(len(ids), max_images, replace=False))
        ids, masks = ids[keep], masks[keep]
    rows, missing = id_rows(tiles.table["id"], ids)
    if missing:
        raise SaltsegError(f"{pseudo_path}: id {missing[0]!r} is not in the prepared data")
    return Samples(tiles.images[rows], masks, z[rows])


def _concat(a: Samples, b: Samples) -> Samples:
    return Samples(
        images=np.concatenate([a.images, b.images]),
        masks=np.concatenate([a.masks, b.masks]),
        z=np.concatenate([a.z, b.z]),
    )


def train_fold(
    data_dir: PathLike,
    folds_path: PathLike,
    fold: int,
    spec: dict,
    model_path: PathLike,
    history_path: PathLike,
    curves_path: PathLike,
    *,
    mode: str = "scratch",
    pseudo_path: PathLike | None = None,
    init_path: PathLike | None = None,
    append: dict | None = None,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
) -> None:
    """Train one fold: on the other folds' tiles, validated on this fold's tiles.

    mode "scratch" trains from the spec; "pretrain" starts from ``init_path`` (a model pretrained
    on pseudo labels); "append" adds pseudo-labelled test tiles to the training set.
    """
    from saltseg.spec import ModelSpec
    from saltseg.train import train

    tiles = load_tileset(data_dir)
    z = depths(tiles.table)
    train_rows, val_rows = _fold_rows(tiles, folds_path, fold)
    train_set = _samples(tiles, train_rows, z)
    if mode == "append":
        if pseudo_path is None:
            raise SaltsegError("append mode needs pseudo labels")
        extra = _pseudo_samples(tiles, pseudo_path, z, (append or {}).get("max_images"))
        logger.info("fold %d: adding %d pseudo-labelled tiles", fold, len(extra.images))
        train_set = _concat(train_set, extra)
    logger.info(
        "fold %d: %d training and %d validation tiles", fold, len(train_set.images), len(val_rows)
    )
    train(
        ModelSpec.from_dict(spec),
        train_set,
        _samples(tiles, val_rows, z),
        model_path,
        history_path,
        curves_path,
        init_checkpoint=init_path if mode == "pretrain" else None,
        device=device,
        threads=threads,
        precision=precision,
        seed=fold,
    )


def pretrain_on_pseudo(
    data_dir: PathLike,
    pseudo_path: PathLike,
    spec: dict,
    model_path: PathLike,
    history_path: PathLike,
    curves_path: PathLike,
    *,
    val_max: int = 1000,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
) -> None:
    """Train on pseudo-labelled test tiles; the labelled train tiles serve as validation."""
    from saltseg.spec import ModelSpec
    from saltseg.train import train

    tiles = load_tileset(data_dir)
    z = depths(tiles.table)
    train_set = _pseudo_samples(tiles, pseudo_path, z)
    if len(train_set.images) == 0:
        raise SaltsegError(f"{pseudo_path}: no pseudo labels to pretrain on")
    usable = np.flatnonzero(tiles.table["split"].eq("train") & ~tiles.table["blank"])
    if len(usable) > val_max:
        usable = np.sort(np.random.default_rng(0).choice(usable, val_max, replace=False))
    logger.info(
        "pretraining on %d pseudo labels, validating on %d", len(train_set.images), len(usable)
    )
    train(
        ModelSpec.from_dict(spec),
        train_set,
        _samples(tiles, usable, z) if len(usable) else None,
        model_path,
        history_path,
        curves_path,
        device=device,
        threads=threads,
        precision=precision,
        seed=0,
    )


def predict_fold(
    model_path: PathLike,
    data_dir: PathLike,
    folds_path: PathLike,
    fold: int,
    oof_path: PathLike,
    test_path: PathLike,
    *,
    predict: dict | None = None,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
) -> None:
    """Probabilities of one fold model for its validation tiles (OOF) and all test tiles."""
    from saltseg.predict import predict as run_predict

    predict = predict or {}
    tiles = load_tileset(data_dir)
    z = depths(tiles.table)
    _, val_rows = _fold_rows(tiles, folds_path, fold)
    test_rows = np.flatnonzero(tiles.table["split"].eq("test"))
    rows = np.concatenate([val_rows, test_rows])
    probs = run_predict(
        model_path,
        _samples(tiles, rows, z, with_masks=False),
        device=device,
        threads=threads,
        precision=precision,
        batch_size=predict.get("batch_size"),
        snapshots=predict.get("snapshots"),
        tta=predict.get("tta"),
    )
    ids = tiles.table["id"].to_numpy()
    save_probs(oof_path, ids[val_rows], probs[: len(val_rows)])
    save_probs(test_path, ids[test_rows], probs[len(val_rows) :])
