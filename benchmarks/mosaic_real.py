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

from saltseg.data.kaggle import read_tiles
from saltseg.data.tileset import TileSet
from saltseg.mosaic.assemble import MosaicOptions
from saltseg.steps.tools import measure_mosaics

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


def row(tiles: TileSet, opts: dict) -> list[str]:
    _, m = measure_mosaics(tiles, MosaicOptions.parse(opts, "variant"))
    return [
        json.dumps(opts) if opts else "defaults",
        f"{m['tiles_placed']:,}",
        f"{m['mosaics']}",
        f"{m['flip_false_pairs_estimate']} of {m['loops_seams']:,} "
        f"({m['flip_false_share_estimate']:.2%})",
        f"{m['continuity_linked_continuous']:.2f} / {m['continuity_random_continuous']:.2f} "
        f"({m['continuity_informative_seams']} seams)",
        f"{m['loops_blocks_closed']:.3f}",
        f"{m['stability_pairs_survived']:.3f}",
        f"{m['seconds']:.1f}",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", help="a Kaggle-layout folder (or a prepared tile set)")
    ap.add_argument("--variant", action="append", help="options as JSON (default: the table's)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    tiles = read_tiles(args.data_dir)
    variants = [json.loads(v) for v in args.variant] if args.variant else VARIANTS
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for opts in variants:
        print("| " + " | ".join(row(tiles, opts)) + " |", flush=True)


if __name__ == "__main__":
    main()
