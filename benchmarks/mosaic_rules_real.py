"""The mosaic rules measured on real labels: their effect on out-of-fold predictions.

    python benchmarks/mosaic_rules_real.py ../shared/data/tgs-public RUN_DIR [--picture OUT.jpg]

DATA_DIR holds all the tiles (the mosaics are assembled from every one of them); RUN_DIR is a
finished run of stage 1 or later on its labelled tiles (it reads results/<stage>/oof.npz:
stage1/blend by default, ``--stage final`` the final blend, as benchmarks/oof_losses.py names
them; and results/data/folds.parquet). Each fold's out-of-fold masks (``--threshold``, 0.5;
with ``--empty-below LEVEL`` the tiles without a pixel at LEVEL emptied first, as
post-processing does) get the rules, with the other folds' true masks governing them, and the
OOF metric per rule variant is printed as a markdown table. ``--picture`` also draws the
largest real mosaics with the train masks.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from saltseg.data.folds import read_folds
from saltseg.data.kaggle import read_tiles
from saltseg.io.figures import save_figure
from saltseg.io.ids import take
from saltseg.io.probs import load_probs
from saltseg.mosaic.assemble import assemble
from saltseg.mosaic.plot import tileset_mosaics_figure
from saltseg.postprocess import oof_mosaic_rule_effects


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("run_dir")
    ap.add_argument("--stage", default="stage1/blend", help="final, or a stage's blend")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--empty-below", type=float, help="postprocess.empty_below's level (off)")
    ap.add_argument("--picture", help="write the largest mosaics here (.jpg or .png)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    tiles = read_tiles(args.data_dir)
    layout = assemble(np.asarray(tiles.images), tiles.ids)
    results = Path(args.run_dir) / "results"
    oof_path = results / args.stage / "oof.npz"
    ids, probs = load_probs(oof_path)
    ids = ids.astype(str)
    folds_path = results / "data" / "folds.parquet"
    folds = read_folds(folds_path)
    fold = take(folds_path, folds["id"], folds["fold"].to_numpy(), ids)
    truth = tiles.train_masks(ids)
    table = oof_mosaic_rule_effects(
        layout, ids, fold, truth, probs, args.threshold, args.empty_below
    )
    placed = int(np.isin(ids, layout["id"]).sum())
    print(f"{len(ids)} out-of-fold tiles, {placed} of them in a mosaic; "
          f"threshold {args.threshold}, empty_below {args.empty_below}")  # fmt: skip
    print("| variant | OOF metric | change | tiles changed |")
    print("|---|---|---|---|")
    for r in table.itertuples(index=False):
        print(f"| {r.variant} | {r.score:.4f} | {r.delta:+.4f} | {r.tiles_changed} |")

    if args.picture:
        fig, _ = tileset_mosaics_figure(layout, tiles, n=3)
        save_figure(fig, args.picture, dpi=80)
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
