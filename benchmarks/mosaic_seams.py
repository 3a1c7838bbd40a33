"""Seam statistics, real and synthetic side by side: how far apart the two sides of a seam are.

    python benchmarks/mosaic_seams.py ../shared/data/tgs-public SYNTH_DIR [MORE_DIRS] OUT.png

For each folder: the descriptor distances of the seams the assembly placed, of the mutual-best
candidates it did not place, of random pairs of tiles and of true seams with the tiles' own
texture (cuts across the middle of each tile, as the cut test of saltseg.mosaic.proxies makes
them); and the ratio-test values of the candidates, placed and not. If the synthetic seams
look like the real ones, a method that wins on the synthetic truth should also win on the real
tiles.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from saltseg.data.kaggle import read_tiles
from saltseg.io.figures import save_figure
from saltseg.mosaic.assemble import MosaicOptions, assemble, candidate_links, seam_distances
from saltseg.mosaic.evaluate import neighbour_pairs
from saltseg.mosaic.proxies import cut_sides

KEY = ["first", "second", "direction"]


def seam_sets(folder: str, seed: int = 0) -> dict[str, np.ndarray]:
    tiles = read_tiles(folder)
    images, ids = np.asarray(tiles.images), tiles.ids
    layout = assemble(images, ids)
    placed = neighbour_pairs(layout, "mosaic").assign(placed=True)
    cands = candidate_links(images, ids).merge(placed, on=KEY, how="left")
    cands["placed"] = cands["placed"].fillna(False).astype(bool)
    rng = np.random.default_rng(seed)
    n = min(20000, len(ids))
    random = np.concatenate(
        [
            seam_distances(images, rng.integers(0, len(ids), n), rng.integers(0, len(ids), n), d)
            for d in "hv"
        ]
    )
    cuts = []
    rows = np.sort(rng.choice(len(ids), n, replace=False))
    for d in "hv":
        q, k, valid = cut_sides(images, rows, d, MosaicOptions())
        cuts.append(np.sqrt(((q - k) ** 2).sum(axis=1))[valid])
    return {
        "true seams (cuts)": np.concatenate(cuts),
        "placed seams": cands.loc[cands["placed"], "distance"].to_numpy(),
        "candidates not placed": cands.loc[~cands["placed"], "distance"].to_numpy(),
        "random pairs": random[np.isfinite(random)],
        "ratio placed": cands.loc[cands["placed"], "ratio"].to_numpy(),
        "ratio not placed": cands.loc[~cands["placed"], "ratio"].to_numpy(),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="data folders, then the output PNG")
    args = ap.parse_args(argv)
    *folders, out = args.folders
    logging.basicConfig(level=logging.WARNING)
    fig = Figure(figsize=(6 * len(folders), 7))
    axes = fig.subplots(2, len(folders), squeeze=False)
    bins = np.linspace(0, 12, 61)
    for col, folder in enumerate(folders):
        sets = seam_sets(folder)
        top, bottom = axes[0, col], axes[1, col]
        for name in ("placed seams", "candidates not placed", "random pairs", "true seams (cuts)"):
            values = sets[name]
            top.hist(
                values, bins=bins, density=True, histtype="step", label=f"{name} ({len(values):,})"
            )
            print(f"{Path(folder).name}: {name}: n {len(values)}, median {np.median(values):.2f}")
        top.set_title(Path(folder).name)
        top.set_xlabel("seam descriptor distance")
        top.legend(fontsize=8)
        for name in ("ratio placed", "ratio not placed"):
            bottom.hist(sets[name], bins=np.linspace(0, 1, 41), histtype="step", label=f"{name}")
        bottom.set_xlabel("ratio test (1 - d1 / d2, the weaker side)")
        bottom.set_ylabel("candidates")
        bottom.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
