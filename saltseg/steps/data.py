"""Steps of workflow/rules/data.smk: the synthetic data, the prepared tile set, folds, mosaics."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from saltseg.data import folds as folds_lib
from saltseg.data.kaggle import read_kaggle, read_tiles
from saltseg.data.tileset import save_tileset, summary, tileset_dir
from saltseg.errors import SaltsegError
from saltseg.io.atomic import write_json
from saltseg.mosaic.assemble import MosaicOptions, assemble, summarize
from saltseg.mosaic.evaluate import evaluate
from saltseg.mosaic.layout import read_truth_layout, save_layout
from saltseg.mosaic.proxies import loop_closure, mask_continuity, stability
from saltseg.synth.generate import SynthOptions, generate

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def synth(folder: PathLike, settings: Mapping | None = None) -> dict:
    """The embedded synthetic dataset, in the Kaggle layout (``data.source: synthetic``)."""
    return generate(folder, SynthOptions.parse(settings, "data.synthetic"))


def prepare_data(source: PathLike, tiles: PathLike, hint: str = "") -> dict:
    """Read and validate a Kaggle-layout folder; write the tile set that ``tiles`` (its
    ``tiles.parquet``) belongs to."""
    source = Path(source)
    if not source.is_dir():
        raise SaltsegError(
            f"{source}: data folder not found; {hint}" if hint else f"{source}: not found"
        )
    tile_set = read_kaggle(source)
    save_tileset(tile_set, tileset_dir(tiles))
    facts = summary(tile_set)
    logger.info("prepared %s", facts)
    return facts


def make_folds(tiles: PathLike, folds: PathLike, scheme: Mapping | None = None) -> None:
    """Cross-validation folds of the train tiles (``id, fold``; blank tiles get -1)."""
    s = folds_lib.FoldsScheme.parse(scheme, "folds")
    table = read_tiles(tiles).table
    folds_lib.save_folds(
        folds_lib.assign_folds(table, n_folds=s.n_folds, method=s.method, seed=s.seed), folds
    )


def build_mosaic(
    tiles: PathLike,
    layout: PathLike,
    summary: PathLike | None = None,
    settings: Mapping | MosaicOptions | None = None,
) -> dict:
    """Assemble all train and test tiles into mosaics; write the layout (and a summary JSON).

    ``tiles`` is a prepared tile set or a Kaggle-layout folder (``saltseg mosaic``).
    """
    options = (
        settings if isinstance(settings, MosaicOptions) else MosaicOptions.parse(settings, "mosaic")
    )
    tile_set = read_tiles(tiles)
    started = time.perf_counter()
    placed = assemble(np.asarray(tile_set.images), tile_set.ids, options)
    seconds = time.perf_counter() - started
    split = dict(zip(tile_set.ids, tile_set.table["split"], strict=True))
    placed_split = placed["id"].map(split)
    facts = summarize(placed) | {
        "tiles": int(len(tile_set.table)),
        "train_placed": int((placed_split == "train").sum()),
        "test_placed": int((placed_split == "test").sum()),
        "seconds": round(seconds, 1),
    }
    save_layout(placed, layout)
    if summary is not None:
        write_json(summary, facts)
    logger.info("mosaics of %s: %s", tiles, facts)
    return facts


def check_data(folder: PathLike) -> dict:
    """``saltseg check-data``: validate a Kaggle-layout folder and summarise it."""
    return summary(read_kaggle(folder))


def mosaic_eval(
    folder: PathLike, settings: Mapping | None = None, *, stability_check: bool = True
) -> dict:
    """``saltseg mosaic-eval``: assemble a folder's tiles and measure the layout.

    Always the precision proxies of saltseg.mosaic.proxies (mask continuity over the labelled
    tiles, loop closure, and, with ``stability_check``, a re-assembly without a tenth of the
    tiles); with a synthetic ``truth/layout.csv`` also pair precision and recall against it
    (blank tiles count as unlinkable for ``recall_linkable``).
    """
    folder = Path(folder)
    options = MosaicOptions.parse(settings, "mosaic")
    tile_set = read_tiles(folder)
    images = np.asarray(tile_set.images)
    started = time.perf_counter()
    placed = assemble(images, tile_set.ids, options)
    seconds = time.perf_counter() - started
    result: dict = summarize(placed) | {
        "tiles": int(len(tile_set.ids)),
        "seconds": round(seconds, 1),
    }
    truth_file = folder / "truth" / "layout.csv"
    if truth_file.is_file():
        blank = tile_set.ids[tile_set.table["blank"].to_numpy()]
        truth = evaluate(placed, read_truth_layout(truth_file), unlinkable_ids=blank, max_wrong=10)
        result |= {k: v for k, v in truth.items() if k != "wrong_pairs"}
        result["wrong_pairs"] = truth["wrong_pairs"]
    train = tile_set.split("train")
    masks = dict(zip(train.ids, np.asarray(train.masks, dtype=bool), strict=True))
    result |= {f"continuity_{k}": v for k, v in mask_continuity(placed, masks).items()}
    result |= {
        f"loops_{k}": v for k, v in loop_closure(placed, tile_set.ids, images, options).items()
    }
    if stability_check:
        result |= {
            f"stability_{k}": v for k, v in stability(images, tile_set.ids, placed, options).items()
        }
    logger.info("mosaic-eval %s: %s", folder, result)
    return result
