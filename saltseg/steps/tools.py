"""Steps of the ``saltseg`` command that are not rules: check a data folder, measure mosaics."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from saltseg.data.kaggle import read_kaggle, read_tiles
from saltseg.data.tileset import summary as tileset_summary
from saltseg.mosaic.assemble import MosaicOptions
from saltseg.mosaic.evaluate import evaluate
from saltseg.mosaic.layout import read_truth_layout
from saltseg.mosaic.proxies import flip_test, loop_closure, mask_continuity, stability
from saltseg.steps.data import assemble_tiles

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def check_data(folder: PathLike) -> dict:
    """``saltseg check-data``: validate a Kaggle-layout folder and summarise it."""
    return tileset_summary(read_kaggle(folder))


def mosaic_eval(
    folder: PathLike, settings: Mapping | None = None, *, stability_check: bool = True
) -> dict:
    """``saltseg mosaic-eval``: assemble a folder's tiles and measure the layout.

    Always the precision proxies of saltseg.mosaic.proxies (mask continuity over the labelled
    tiles, loop closure, the flip test's estimate of false seams and, with ``stability_check``,
    a re-assembly without a tenth of the tiles); with a synthetic ``truth/layout.csv`` also pair
    precision and recall against it (blank tiles count as unlinkable for ``recall_linkable``).
    """
    folder = Path(folder)
    options = MosaicOptions.parse(settings, "mosaic")
    tile_set = read_tiles(folder)
    images = np.asarray(tile_set.images)
    placed, result = assemble_tiles(tile_set, options)
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
    result |= {f"flip_{k}": v for k, v in flip_test(placed, tile_set.ids, images, options).items()}
    if stability_check:
        result |= {
            f"stability_{k}": v for k, v in stability(placed, tile_set.ids, images, options).items()
        }
    logger.info("mosaic-eval %s: %s", folder, result)
    return result
