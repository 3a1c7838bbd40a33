"""Which tiles the mosaic places, by texture kind and salt, beside the cut test per kind.

    python benchmarks/mosaic_coverage.py ../shared/data/tgs-public [--picture OUT.png]

Assembles the folder's tiles (the defaults, or ``--variant JSON``), sorts them into smooth,
rough and flat tiles by their fine-texture share (saltseg.mosaic.coverage) and prints, per
kind (and per kind and salt over the labelled tiles): tiles, tiles placed, and the share of
true seams that would be linked, cut through the middle of the kind's tiles as the cut test
of saltseg.mosaic.proxies cuts them. A kind whose cuts are linked nearly always but whose
tiles are seldom placed has few neighbours among the tiles. ``--picture`` draws the
fine-texture histogram of placed and unplaced tiles and examples of both kinds.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from saltseg.data.kaggle import read_tiles
from saltseg.io.figures import save_figure
from saltseg.mosaic.assemble import MosaicOptions, assemble
from saltseg.mosaic.coverage import SMOOTH_BELOW, coverage, fine_texture_share, texture_kinds
from saltseg.mosaic.proxies import chosen_thresholds, cut_links, cut_rows
from saltseg.report import markdown_table
from saltseg.synth.preview import contact_sheet


def markdown(table: pd.DataFrame, depths: pd.Series) -> str:
    """The coverage table as printed: NaN (no cuts, no depths) as an empty cell."""
    shown = pd.DataFrame(
        {
            "tiles": table["group"],
            "count": table["tiles"].map("{:,}".format),
            "placed": table["placed"].map("{:,}".format),
            "share placed": table["placed_share"].map("{:.1%}".format),
            "cut seams linked: h": table["cut_h_recall"],
            "v": table["cut_v_recall"],
            "cuts: h / v": [
                f"{h:,} / {v:,}" for h, v in table[["cut_h_cuts", "cut_v_cuts"]].values
            ],
            "median z (ft)": [
                "" if np.isnan(v) else f"{v:,.0f}" for v in table["group"].map(depths)
            ],
        }
    )
    return markdown_table(shown, floatfmt=".3f")


def picture(
    path: str,
    images: np.ndarray,
    share: np.ndarray,
    placed: np.ndarray,
    kinds: np.ndarray,
    seed: int = 0,
) -> None:
    """The fine-texture histogram of placed and unplaced tiles, and random tiles of each kind."""
    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(15, 5.4), layout="constrained")
    hist, smooth_ax, rough_ax = fig.subplots(1, 3)
    bins = np.linspace(-4, 0, 61)
    for name, sel in (("placed", placed), ("not placed", ~placed)):
        values = np.log10(share[sel & (kinds != "flat")])
        hist.hist(values, bins=bins, histtype="step", label=f"{name} ({len(values):,})")
    hist.axvline(np.log10(SMOOTH_BELOW), color="grey", linestyle=":", label="smooth | rough")
    hist.set_xlabel("log10 share of horizontal power above 0.25 cycles/px")
    hist.set_ylabel("tiles")
    hist.legend(fontsize=8)
    for ax, kind, sel in (
        (smooth_ax, "smooth", (kinds == "smooth") & ~placed),
        (rough_ax, "rough", (kinds == "rough") & placed),
    ):
        shown = images[rng.permutation(np.flatnonzero(sel))[:25]]
        sheet = contact_sheet(list(shown), [np.zeros(t.shape, bool) for t in shown], 5, scale=1)
        ax.imshow(sheet[:, :, ::-1])  # BGR, no outlines: the grey tiles with white gaps
        ax.set_title(f"{kind} tiles, {'not ' if kind == 'smooth' else ''}placed (random)")
        ax.axis("off")
    save_figure(fig, path, dpi=80)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", help="a Kaggle-layout folder (or a prepared tile set)")
    ap.add_argument("--variant", default="{}", help="assembly options as JSON (default: none)")
    ap.add_argument("--cuts", type=int, default=6000, help="random tiles cut (+ the labelled)")
    ap.add_argument("--picture", help="PNG of the texture histogram and example tiles")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    tiles = read_tiles(args.data_dir)
    images, ids = np.asarray(tiles.images), tiles.ids
    options = MosaicOptions.parse(json.loads(args.variant), "variant")
    layout = assemble(images, ids, options)
    placed = np.isin(ids, layout["id"].astype(str).to_numpy())
    share = fine_texture_share(images)
    kinds = texture_kinds(images, flat_std=options.min_edge_std, share=share).astype(str)
    z = tiles.table["z"].to_numpy(dtype=np.float64)
    train = tiles.rows_of("train")
    rows = np.union1d(cut_rows(len(ids), args.cuts), train)
    cuts = cut_links(images, rows, chosen_thresholds(layout, options), options)
    print(f"{len(ids):,} tiles, {placed.sum():,} placed ({args.variant}); all tiles by kind:\n")
    depths = pd.Series(z).groupby(kinds).median()
    print(markdown(coverage(kinds, placed, cuts), depths))
    if len(train):
        salt = np.asarray(tiles.masks)[train].reshape(len(train), -1).any(axis=1)
        groups = np.full(len(ids), "unlabelled", dtype=object)
        groups[train] = kinds[train].astype(object) + np.where(salt, ", salt", ", no salt")
        groups = groups.astype(str)
        labelled = coverage(groups, placed, cuts)
        depths = pd.Series(z).groupby(groups).median()
        print("\nlabelled tiles by kind and salt:\n")
        print(markdown(labelled[labelled["group"] != "unlabelled"], depths))
    if args.picture:
        picture(args.picture, images, share, placed, kinds)


if __name__ == "__main__":
    main()
