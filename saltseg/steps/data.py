"""Steps of workflow/rules/data.smk: the synthetic data, the prepared tile set, folds, mosaics."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.data import folds as folds_lib
from saltseg.data.kaggle import read_kaggle, read_tiles
from saltseg.data.tileset import TileSet, save_tileset, tileset_dir
from saltseg.data.tileset import summary as tileset_summary
from saltseg.errors import SaltsegError
from saltseg.io.atomic import write_json
from saltseg.io.figures import save_figure
from saltseg.mosaic.assemble import MosaicOptions, assemble, summarize
from saltseg.mosaic.layout import save_layout
from saltseg.mosaic.plot import tileset_mosaics_figure
from saltseg.synth.generate import SynthOptions, generate

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike
PICTURES = {".png", ".jpg", ".jpeg"}  # what `saltseg mosaic --picture` writes


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
    facts = tileset_summary(tile_set)
    logger.info("prepared %s", facts)
    return facts


def summarise_data(tiles: PathLike, summary: PathLike) -> dict:
    """The prepared tile set's counts and ranges (the report's data section) as JSON."""
    facts = tileset_summary(read_tiles(tiles))
    write_json(summary, facts, sort_keys=False)
    return facts


def make_folds(tiles: PathLike, folds: PathLike, scheme: Mapping | None = None) -> None:
    """Cross-validation folds of the train tiles (``id, fold``; blank tiles get -1)."""
    s = folds_lib.FoldsScheme.parse(scheme, "folds")
    table = read_tiles(tiles).table
    folds_lib.save_folds(
        folds_lib.assign_folds(table, n_folds=s.n_folds, method=s.method, seed=s.seed), folds
    )


def assemble_tiles(tile_set: TileSet, options: MosaicOptions) -> tuple[pd.DataFrame, dict]:
    """The mosaics of a tile set, and the counts a person checks first (with the seconds)."""
    started = time.perf_counter()
    placed = assemble(np.asarray(tile_set.images), tile_set.ids, options)
    seconds = time.perf_counter() - started
    placed_split = placed["id"].map(dict(zip(tile_set.ids, tile_set.table["split"], strict=True)))
    return placed, summarize(placed) | {
        "tiles": int(len(tile_set.table)),
        "train_placed": int((placed_split == "train").sum()),
        "test_placed": int((placed_split == "test").sum()),
        "seconds": round(seconds, 1),
    }


def build_mosaic(
    tiles: PathLike,
    layout: PathLike,
    summary: PathLike | None = None,
    settings: Mapping | MosaicOptions | None = None,
    picture: PathLike | None = None,
) -> dict:
    """Assemble all train and test tiles into mosaics; write the layout (and a summary JSON).

    ``tiles`` is a prepared tile set or a Kaggle-layout folder (``saltseg mosaic``); ``picture``
    (.png or .jpg): also draw the largest mosaics with salt in their train masks.
    """
    options = (
        settings if isinstance(settings, MosaicOptions) else MosaicOptions.parse(settings, "mosaic")
    )
    if picture is not None and Path(picture).suffix.lower() not in PICTURES:
        raise SaltsegError(f"{picture}: a picture ends in one of {', '.join(sorted(PICTURES))}")
    tile_set = read_tiles(tiles)
    placed, facts = assemble_tiles(tile_set, options)
    fig = None
    if picture is not None:  # drawn before anything is written: no mosaics, no files
        if placed.empty:
            raise SaltsegError(f"{tiles}: no mosaics to draw into {picture}")
        fig, shown = tileset_mosaics_figure(placed, tile_set)
    save_layout(placed, layout)
    if summary is not None:
        write_json(summary, facts)
    if fig is not None:
        save_figure(fig, picture, dpi=80)
        logger.info("wrote %s (mosaics %s)", picture, shown)
    logger.info("mosaics of %s: %s", tiles, facts)
    return facts
