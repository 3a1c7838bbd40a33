"""Where a finished run's OOF metric is lost, and what the empty/non-empty decision can still add.

    python benchmarks/oof_losses.py RUN_DIR [--stage final]

RUN_DIR is a finished run on labelled tiles (its results/data holds the tiles, masks and folds;
results/<stage>/oof.npz the out-of-fold probabilities). The masks are taken at the OOF threshold
with the OOF ``empty_below`` level, as the blend step picks them. Prints, as markdown:

- the metric lost per true salt coverage: each tile scores 0 to 1, its shortfall from 1 divided
  by the number of tiles, so the column adds up to what is missing from 1; and how many of the
  tiles, and how much of that loss, sit in one of the run's mosaics (results/mosaic/layout.parquet),
  where neighbouring tiles could help;
- the empty/non-empty decision: the score if every tile were emptied or kept, whichever scores
  more (an upper bound for any classifier in front of the masks), and what two classifiers on
  tile features (the map's peak, areas above several levels, the image's mean and spread, the
  depth) reach when each fold is decided by a classifier fitted on the other folds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from saltseg.blend import best_empty_below, best_threshold
from saltseg.data.folds import read_folds
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.ids import take
from saltseg.io.probs import load_probs
from saltseg.metric import image_scores
from saltseg.postprocess import empty_unless_confident

BINS = [  # (label, lowest coverage excluded, highest included)
    ("none", -1.0, 0.0),
    ("under 1%", 0.0, 0.01),
    ("1-5%", 0.01, 0.05),
    ("5-25%", 0.05, 0.25),
    ("25-50%", 0.25, 0.5),
    ("50-99%", 0.5, 0.99),
    ("over 99%", 0.99, 1.0),
]


def tile_features(probs: np.ndarray, images: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Per-tile features (N, 9) of a probability map and its image."""
    flat = probs.reshape(len(probs), -1)
    return np.stack(
        [
            flat.max(axis=1),
            np.sort(flat, axis=1)[:, -50],  # the 50th largest: a peak that is not one pixel
            *[(flat > v).mean(axis=1) for v in (0.3, 0.5, 0.9)],
            flat.mean(axis=1),
            images.reshape(len(images), -1).mean(axis=1),
            images.reshape(len(images), -1).std(axis=1),
            depth,
        ],
        axis=1,
    )


def cross_fitted(
    make, features: np.ndarray, target: np.ndarray, weight: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """P(target) for each tile from a classifier fitted on the other folds' tiles."""
    out = np.zeros(len(target))
    for f in np.unique(folds):
        test = folds == f
        model = make().fit(features[~test], target[~test], sample_weight=weight[~test])
        out[test] = model.predict_proba(features[test])[:, 1]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--stage", default="final", help="final, or a stage's blend (stage1/blend)")
    args = ap.parse_args(argv)
    results = args.run_dir / "results"
    oof, folds_path = results / args.stage / "oof.npz", results / "data" / "folds.parquet"
    try:
        ids, probs = load_probs(oof)
        ids = ids.astype(str)
        tiles = load_tileset(results / "data")
        rows = take(tiles.source, tiles.ids, np.arange(len(tiles.ids)), ids)
        truth = tiles.train_masks(ids)
        folds = read_folds(folds_path)
        fold = take(folds_path, folds["id"], folds["fold"].to_numpy(), ids)
    except SaltsegError as exc:
        print(f"oof_losses: {exc}", file=sys.stderr)
        return 1
    image = np.asarray(tiles.images[rows], dtype=np.float32)
    depth = tiles.depths()[rows]

    t, _ = best_threshold(truth, probs)
    level, _ = best_empty_below(truth, probs, t)
    pred = probs > t
    kept = image_scores(truth, pred)  # every tile's mask kept
    emptied = (~truth.reshape(len(truth), -1).any(axis=1)).astype(np.float64)
    masks = pred if level is None else empty_unless_confident(probs, pred, level)
    scores = image_scores(truth, masks)
    n = len(scores)
    coverage = truth.reshape(n, -1).mean(axis=1)
    predicted_empty = ~masks.reshape(n, -1).any(axis=1)

    print(f"{n} OOF tiles of {args.stage}: threshold {t:.2f}, empty_below {level}, "
          f"metric {scores.mean():.4f}\n")  # fmt: skip
    layout = results / "mosaic" / "layout.parquet"
    placed = np.isin(ids, pd.read_parquet(layout)["id"].astype(str)) if layout.is_file() else None
    print("| true salt coverage | tiles | mean score | lost | predicted empty "
          "(empty tiles: given salt) | in a mosaic (their loss) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for label, lo, hi in BINS:
        k = (coverage > lo) & (coverage <= hi)
        wrong = (~predicted_empty & k).sum() if label == "none" else (predicted_empty & k).sum()
        mosaic = "no layout"
        if placed is not None:
            mosaic = f"{(placed & k).sum():,} ({(1 - scores[placed & k]).sum() / n:.3f})"
        print(f"| {label} | {k.sum():,} | {scores[k].mean():.3f} | {(1 - scores[k]).sum() / n:.3f} "
              f"| {wrong:,}{' given salt' if label == 'none' else ''} | {mosaic} |")  # fmt: skip

    features = StandardScaler().fit_transform(tile_features(probs, image, depth))
    target = (emptied > kept).astype(int)  # emptying the tile scores more than its mask
    # Weighted by what the decision changes, so that the classifiers learn the metric's stakes.
    weight = np.abs(emptied - kept) + 1e-3
    classifiers = {
        "logistic regression": lambda: LogisticRegression(max_iter=1000),
        "gradient boosting": lambda: HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0
        ),
    }
    print("\n| empty/non-empty decision | metric |\n|---|---|")
    print(f"| every mask kept (threshold {t:.2f}) | {kept.mean():.4f} |")
    print(f"| tiles with a peak under {level} emptied (the blend's rule) | {scores.mean():.4f} |")
    for name, make in classifiers.items():
        p = cross_fitted(make, features, target, weight, fold)
        print(f"| {name} on tile features, fitted on the other folds | "
              f"{np.where(p > 0.5, emptied, kept).mean():.4f} |")  # fmt: skip
    print(f"| each tile emptied or kept, whichever scores more (upper bound) | "
          f"{np.maximum(kept, emptied).mean():.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
