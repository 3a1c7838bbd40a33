"""Mosaic variants on a folder of real tiles, measured without a truth layout.

    python benchmarks/mosaic_real.py ../shared/data/tgs-public            # the README's table
    python benchmarks/mosaic_real.py DIR --variant '{"smooth": 0.5}'       # one more row

For each variant of the assembly options (saltseg.mosaic.assemble.MosaicOptions) it prints one
markdown row: tiles placed, mosaics, the precision proxies of saltseg.mosaic.proxies (the flip
test's estimate of false seams, mask continuity of labelled seams against random pairs, closed
2x2 blocks, stability without a tenth of the tiles) and the assembly's seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np

from saltseg.data.kaggle import read_tiles
from saltseg.mosaic.assemble import MosaicOptions, assemble, summarize
from saltseg.mosaic.proxies import flip_test, loop_closure, mask_continuity, stability

VARIANTS = [
    {},
    {"smooth": 0.5},
    {"max_false_rate": 0.01},
    {"max_false_rate": 0.02},
    {"max_false_rate": 0.0},
    {"min_ratio": 0.15, "max_false_rate": 0.0},
]
COLUMNS = [
    "variant",
    "placed",
    "mosaics",
    "false seams (flip test)",
    "continuous seams: linked / random",
    "closed 2x2",
    "stable pairs",
    "s",
]


def row(images: np.ndarray, ids: np.ndarray, masks: dict, opts: dict) -> list[str]:
    options = MosaicOptions.parse(opts, "variant")
    started = time.perf_counter()
    layout = assemble(images, ids, options)
    seconds = time.perf_counter() - started
    facts = summarize(layout)
    flip = flip_test(layout, ids, images, options)
    cont = mask_continuity(layout, masks)
    loops = loop_closure(layout, ids, images, options)
    stable = stability(layout, ids, images, options)
    return [
        json.dumps(opts) if opts else "defaults",
        f"{facts['tiles_placed']:,}",
        f"{facts['mosaics']}",
        f"{flip['false_pairs_estimate']} of {loops['seams']:,} "
        f"({flip['false_share_estimate']:.2%})",
        f"{cont['linked_continuous']:.2f} / {cont['random_continuous']:.2f} "
        f"({cont['informative_seams']} seams)",
        f"{loops['blocks_closed']:.3f}",
        f"{stable['pairs_survived']:.3f}",
        f"{seconds:.1f}",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", help="a Kaggle-layout folder (or a prepared tile set)")
    ap.add_argument("--variant", action="append", help="options as JSON (default: the table's)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    tiles = read_tiles(args.data_dir)
    images = np.ascontiguousarray(tiles.images)
    train = tiles.split("train")
    masks = dict(zip(train.ids, np.asarray(train.masks, dtype=bool), strict=True))
    variants = [json.loads(v) for v in args.variant] if args.variant else VARIANTS
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for opts in variants:
        print("| " + " | ".join(row(images, tiles.ids, masks, opts)) + " |", flush=True)


if __name__ == "__main__":
    main()
