"""Mosaic variants on a folder of real tiles, measured without a truth layout.

    python benchmarks/mosaic_real.py ../shared/data/tgs-public            # docs/mosaics.md's table
    python benchmarks/mosaic_real.py DIR --variant '{"smooth": 0.5}'       # one more row
    python benchmarks/mosaic_real.py SYNTH_DIR     # a synthetic set: + the truth's wrong pairs

For each variant of the assembly options (saltseg.mosaic.assemble.MosaicOptions) it prints one
markdown row: tiles placed, mosaics, the precision proxies of saltseg.mosaic.proxies (the flip
test's estimate of false seams, mask continuity of labelled seams against random pairs, closed
2x2 blocks, stability without a tenth of the tiles, the cut test's recall of true seams and
chance links, both with the tiles' own texture) and the assembly's seconds. On a synthetic
folder (with truth/layout.csv) one more column counts the wrong pairs against the truth, which
is how the flip test's estimate is checked, and the variants can be ranked as on the real tiles
(a real-like synthetic set: ``saltseg synth DIR --keep-fraction 0.15 --tile-noise 5``).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from saltseg.data.kaggle import read_tiles
from saltseg.data.tileset import TileSet
from saltseg.mosaic.assemble import MosaicOptions
from saltseg.mosaic.evaluate import evaluate
from saltseg.mosaic.layout import read_truth_layout
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
    "cut seams linked: h / v",
    "chance links (cuts): h / v",
    "s",
]


def row(tiles: TileSet, opts: dict, truth=None) -> list[str]:
    placed, m = measure_mosaics(tiles, MosaicOptions.parse(opts, "variant"))
    wrong = []
    if truth is not None:
        blank = tiles.ids[tiles.table["blank"].to_numpy()]
        t = evaluate(placed, truth, unlinkable_ids=blank)
        share = t["pairs_wrong"] / max(t["pairs_predicted"], 1)
        wrong = [f"{t['pairs_wrong']} of {t['pairs_predicted']:,} ({share:.2%})"]
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
        f"{m['cut_h_recall']:.3f} / {m['cut_v_recall']:.3f}",
        f"{m['cut_h_chance']:.2%} / {m['cut_v_chance']:.2%}",
        f"{m['seconds']:.1f}",
        *wrong,
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", help="a Kaggle-layout folder (or a prepared tile set)")
    ap.add_argument("--variant", action="append", help="options as JSON (default: the table's)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    tiles = read_tiles(args.data_dir)
    truth_file = Path(args.data_dir) / "truth" / "layout.csv"
    truth = read_truth_layout(truth_file) if truth_file.is_file() else None
    columns = COLUMNS + (["wrong pairs (truth)"] if truth is not None else [])
    variants = [json.loads(v) for v in args.variant] if args.variant else VARIANTS
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for opts in variants:
        print("| " + " | ".join(row(tiles, opts, truth)) + " |", flush=True)


if __name__ == "__main__":
    main()
