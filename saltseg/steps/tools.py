"""Steps of the ``saltseg`` command that are not rules: check a data folder, hold out labelled
tiles as a test set, measure mosaics."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.data.kaggle import png_files, read_kaggle, read_tiles
from saltseg.data.split import holdout
from saltseg.data.tileset import TileSet
from saltseg.data.tileset import summary as tileset_summary
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_dir
from saltseg.io.submission import write_submission
from saltseg.mosaic.assemble import DIRECTIONS, MosaicOptions
from saltseg.mosaic.coverage import KINDS, coverage, texture_kinds
from saltseg.mosaic.evaluate import evaluate
from saltseg.mosaic.layout import read_truth_layout
from saltseg.mosaic.proxies import (
    chosen_thresholds,
    cut_links,
    cut_rows,
    flip_test,
    loop_closure,
    mask_continuity,
    stability,
    summarize_cuts,
)
from saltseg.steps.data import assemble_tiles

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def check_data(folder: PathLike) -> dict:
    """``saltseg check-data``: validate a Kaggle-layout folder and summarise it."""
    return tileset_summary(read_kaggle(folder))


def split_data(
    source: PathLike,
    out: PathLike,
    test_fraction: float = 0.25,
    seed: int = 0,
    *,
    keep_unlabelled: bool = False,
) -> dict:
    """``saltseg split``: a Kaggle-layout folder ``out`` whose test tiles are ``test_fraction``
    of ``source``'s labelled tiles (stratified by coverage), with their masks in
    ``out/answers.csv`` (``id,rle_mask``); the other labelled tiles are its train tiles.

    The source's own test tiles (masks unknown) are left out, or with ``keep_unlabelled`` kept
    as more test tiles without answers: the run then sees as many unlabelled tiles as on the
    source (for pseudo labels and mosaics) and is scored on the held-out ones. PNGs are copied
    byte for byte; ``out`` appears whole or not at all, and must not exist yet.
    """
    source, out = Path(source), Path(out)
    if out.exists():
        raise SaltsegError(f"{out}: already exists; choose a new folder")
    everything = read_kaggle(source)
    tiles = everything.split("train")
    held = holdout(tiles.table, test_fraction, seed)
    ids = tiles.ids
    image_files = png_files(source / "train" / "images")
    mask_files = png_files(source / "train" / "masks")
    test = everything.split("test")
    unlabelled = test.ids if keep_unlabelled else test.ids[:0]
    with atomic_dir(out) as tmp:
        for folder in ("train/images", "train/masks", "test/images"):
            (tmp / folder).mkdir(parents=True)
        for i, tile_id in enumerate(ids):
            if held[i]:
                shutil.copyfile(image_files[tile_id], tmp / "test" / "images" / f"{tile_id}.png")
            else:
                shutil.copyfile(image_files[tile_id], tmp / "train" / "images" / f"{tile_id}.png")
                shutil.copyfile(mask_files[tile_id], tmp / "train" / "masks" / f"{tile_id}.png")
        if len(unlabelled):
            test_files = png_files(source / "test" / "images")
            for tile_id in unlabelled:
                shutil.copyfile(test_files[tile_id], tmp / "test" / "images" / f"{tile_id}.png")
        masks = np.asarray(tiles.masks, dtype=bool)
        write_submission(ids[~held], masks[~held], tmp / "train.csv")
        write_submission(ids[held], masks[held], tmp / "answers.csv")
        kept = pd.concat([tiles.table, test.table[test.table["id"].isin(unlabelled)]])
        kept = kept[kept["z"].notna()]
        pd.DataFrame({"id": kept["id"], "z": kept["z"]}).to_csv(tmp / "depths.csv", index=False)
    empty = ~masks.reshape(len(ids), -1).any(axis=1)
    return {
        "train_tiles": int((~held).sum()),
        "test_tiles": int(held.sum()) + len(unlabelled),
        "test_answered": int(held.sum()),
        "test_empty": int((held & empty).sum()),
        "answers": str(out / "answers.csv"),
    }


def measure_mosaics(
    tile_set: TileSet, options: MosaicOptions, *, stability_check: bool = True
) -> tuple[pd.DataFrame, dict]:
    """Assemble a tile set and measure the layout with the precision proxies of
    saltseg.mosaic.proxies (mask continuity over the labelled tiles, loop closure, the flip
    test's estimate of false seams, the cut test's recall of true seams and chance links and,
    with ``stability_check``, a re-assembly without a tenth of the tiles) and the tiles placed
    and cuts linked per texture kind (saltseg.mosaic.coverage); returns the layout and the
    figures, prefixed by proxy."""
    images = np.asarray(tile_set.images)
    placed, result = assemble_tiles(tile_set, options)
    train = tile_set.split("train")
    masks = dict(zip(train.ids, np.asarray(train.masks, dtype=bool), strict=True))
    ids = tile_set.ids
    result |= _prefixed("continuity", mask_continuity(placed, masks))
    result |= _prefixed("loops", loop_closure(placed, ids, images, options))
    result |= _prefixed("flip", flip_test(placed, ids, images, options))
    cuts = cut_links(images, cut_rows(len(images)), chosen_thresholds(placed, options), options)
    result |= _prefixed("cut", summarize_cuts(cuts))
    is_placed = np.isin(ids, placed["id"].astype(str).to_numpy())
    kinds = texture_kinds(images, flat_std=options.min_edge_std)
    by_kind = coverage(kinds, is_placed, cuts).set_index("group").reindex(list(KINDS))
    for kind, row in by_kind.iterrows():
        result[f"kind_{kind}_tiles"] = int(np.nan_to_num(row["tiles"]))
        result[f"kind_{kind}_placed"] = int(np.nan_to_num(row["placed"]))
        for o in DIRECTIONS:
            result[f"kind_{kind}_cut_{o}_recall"] = float(row[f"cut_{o}_recall"])
    if stability_check:
        result |= _prefixed("stability", stability(placed, ids, images, options))
    return placed, result


def _prefixed(name: str, figures: dict) -> dict:
    return {f"{name}_{k}": v for k, v in figures.items()}


def mosaic_eval(
    folder: PathLike, settings: Mapping | None = None, *, stability_check: bool = True
) -> dict:
    """``saltseg mosaic-eval``: assemble a folder's tiles and measure the layout
    (:func:`measure_mosaics`); with a synthetic ``truth/layout.csv`` also pair precision and
    recall against it (blank tiles count as unlinkable for ``recall_linkable``)."""
    folder = Path(folder)
    tile_set = read_tiles(folder)
    options = MosaicOptions.parse(settings, "mosaic")
    placed, result = measure_mosaics(tile_set, options, stability_check=stability_check)
    truth_file = folder / "truth" / "layout.csv"
    if truth_file.is_file():
        blank = tile_set.ids[tile_set.table["blank"].to_numpy()]
        truth = evaluate(placed, read_truth_layout(truth_file), unlinkable_ids=blank, max_wrong=10)
        result |= truth
    logger.info("mosaic-eval %s: %s", folder, result)
    return result
