"""The OOF metric of several folds' saved maps, as the blend step would score them.

    python benchmarks/maps_oof.py DATA_DIR MAPS_DIR [MAPS_DIR ...] [--model NAME] [--mosaic-rules]
        [--against BASE_DIR [BASE_DIR ...]]

Each MAPS_DIR is what ``benchmarks/recipe_fold.py --save-maps MAPS_DIR`` wrote for one fold
(``<model>.npz``: ids, probabilities). Running recipe_fold.py once per fold (``--n-folds K
--fold F``, several side by side) and then this script gives a K-fold OOF metric without the
workflow's test predictions. ``DIR_A,DIR_B`` in place of one MAPS_DIR takes the mean of the
runs' maps of one fold (e.g. two seeds: a two-model ensemble per fold). A workflow run's fold
folder (``RUN/results/stage1/models/MODEL/foldF``) serves as a MAPS_DIR too (its ``oof.npz``).
Prints a markdown table: the metric at 0.5 with its empty/salt split and the mean score per true
salt coverage, at the threshold tuned on all the maps, then with the tuned ``empty_below``. With
``--mosaic-rules`` also each mosaic rule's effect after those two, fold by fold, the other folds'
true masks governing each fold (as benchmarks/mosaic_rules_real.py does for a run folder; the
mosaics are assembled from all of DATA_DIR's tiles). With ``--against`` (one BASE_DIR per
MAPS_DIR, the same folds of a baseline) also a paired table, fold by fold: both sets at 0.5 and
at their own tuned settings, the MAPS_DIRs' lead, and the standard error of its mean over the
folds (``saltseg.compare``): a lead within about two standard errors is the seeds' noise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.blend import score_row
from saltseg.compare import paired_fold_differences
from saltseg.data.kaggle import read_tiles
from saltseg.errors import SaltsegError
from saltseg.io.ids import id_rows
from saltseg.io.probs import load_probs
from saltseg.metric import image_scores
from saltseg.mosaic.assemble import assemble
from saltseg.postprocess import binarise, oof_mosaic_rule_effects
from saltseg.report import markdown_table

COVERAGE = [(0.0, 0.01, "under 1%"), (0.01, 0.05, "1-5%"), (0.05, 0.25, "5-25%")]


def load_maps(groups: list[str], model: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, probabilities, folds) of all the folds' maps, one model's (the only one when None);
    a group "A,B" is the mean of A's and B's maps of the same tiles; group k is fold k."""
    ids, probs = [], []
    for group in groups:
        names = group.split(",")
        fold = [_read_maps(Path(d), model) for d in names]
        for d, (other, _) in zip(names[1:], fold[1:], strict=True):
            if not np.array_equal(other, fold[0][0]):
                raise SaltsegError(f"{d}: its maps are of other tiles than {names[0]}'s")
        ids.append(fold[0][0])
        probs.append(np.mean([p for _, p in fold], axis=0))
    all_ids = np.concatenate(ids)
    if len(np.unique(all_ids)) != len(all_ids):
        raise SaltsegError(f"{' '.join(groups)}: the folds' maps share tile ids")
    folds = np.concatenate([np.full(len(i), k) for k, i in enumerate(ids)])
    return all_ids, np.concatenate(probs), folds


def baseline_maps(
    groups: list[str],
    variant_groups: list[str],
    model: str | None,
    ids: np.ndarray,
    folds: np.ndarray,
) -> np.ndarray:
    """The baseline's maps of ``groups`` in the order of the variant's ``ids``; fold k of each
    set must hold the same tiles (``folds``: the variant's fold of each tile)."""
    if len(groups) != len(variant_groups):
        raise SaltsegError(
            f"--against: {len(groups)} baseline folds for {len(variant_groups)} folds of maps"
        )
    base_ids, base_probs, base_folds = load_maps(groups, model)
    at, missing = id_rows(base_ids, ids)
    if missing or len(base_ids) != len(ids):
        raise SaltsegError(
            f"--against: the baseline has maps of {len(base_ids)} tiles, the variant of "
            f"{len(ids)}, {len(missing)} of the variant's tiles not in the baseline"
        )
    moved = np.flatnonzero(base_folds[at] != folds)
    if moved.size:
        k = int(folds[moved[0]])
        raise SaltsegError(
            f"--against: {moved.size} tiles are in other folds, e.g. {ids[moved[0]]} of the "
            f"variant's fold {k} ({variant_groups[k]}) in {groups[int(base_folds[at][moved[0]])]}: "
            "give the baseline's folds in the same order"
        )
    return base_probs[at]


def _read_maps(d: Path, model: str | None) -> tuple[np.ndarray, np.ndarray]:
    if model is None and (d / "oof.npz").is_file():  # a workflow run's fold folder
        files = [d / "oof.npz"]
    else:
        files = sorted(d.glob("*.npz")) if model is None else [d / f"{model}.npz"]
    if len(files) != 1 or not files[0].is_file():
        raise SaltsegError(f"{d}: expected one maps file, found {[f.name for f in files]}")
    ids, probs = load_probs(files[0])
    return ids.astype(str), probs


def oof_table(truth: np.ndarray, probs: np.ndarray) -> dict:
    """One row: the metric at 0.5 (empty/salt/coverage split), then the blend's own score row
    (the best threshold, then the best ``empty_below``, as it tunes them on OOF maps)."""
    empty = ~truth.any(axis=(1, 2))
    cover = truth.mean(axis=(1, 2))
    scores = image_scores(truth, binarise(probs, 0.5))
    row = {"empty": float(scores[empty].mean()), "salt": float(scores[~empty].mean())}
    for lo, hi, label in COVERAGE:
        row[label] = float(scores[(cover > lo) & (cover <= hi)].mean())
    row["over 25%"] = float(scores[cover > 0.25].mean())
    blend = score_row("maps", 1.0, truth, probs)
    tuned = ("best_threshold", "best_score", "best_empty_below", "empty_below_score")
    return {"tiles": blend["images"], "metric": blend["oof_score"], **row} | {
        k: blend[k] for k in tuned
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("maps_dirs", nargs="+", help="one folder per fold; A,B: the mean of two")
    ap.add_argument(
        "--model", help="the maps file's name without .npz, in both sets (default: the only one)"
    )
    ap.add_argument("--mosaic-rules", action="store_true", help="also each mosaic rule's effect")
    ap.add_argument("--against", nargs="+", metavar="BASE_DIR", help="a baseline's same folds")
    args = ap.parse_args(argv)
    try:
        ids, probs, folds = load_maps(args.maps_dirs, args.model)
        if args.against:
            base = baseline_maps(args.against, args.maps_dirs, args.model, ids, folds)
        all_tiles = read_tiles(args.data_dir)
        truth = all_tiles.train_masks(ids)
    except SaltsegError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    row = oof_table(truth, probs)
    print(markdown_table(pd.DataFrame([row]), floatfmt=".4f"))
    if args.against:
        table = paired_fold_differences(truth, base, probs, folds)
        total = table.iloc[-1]
        print(f"\nagainst {' '.join(args.against)}, fold by fold (diff: the above minus it):")
        print(markdown_table(table.astype(object).fillna(""), floatfmt=".4f"))
        for kind, what in (("05", "at 0.5"), ("tuned", "at each set's tuned settings")):
            print(f"lead {what}: {total[f'diff_{kind}']:+.4f} (standard error over the folds "
                  f"{total[f'se_{kind}']:.4f}; ahead on {int(total[f'ahead_{kind}'])} of "
                  f"{len(table) - 1} folds)")  # fmt: skip
    if args.mosaic_rules:
        threshold, level = row["best_threshold"], row["best_empty_below"]
        layout = assemble(np.asarray(all_tiles.images), all_tiles.ids)
        effects = oof_mosaic_rule_effects(layout, ids, folds, truth, probs, threshold, level)
        placed = int(np.isin(ids, layout["id"]).sum())
        print(f"\nmosaic rules after threshold {threshold} and empty_below {level} "
              f"({placed} of the tiles in a mosaic):")  # fmt: skip
        print(markdown_table(effects, floatfmt=".4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
