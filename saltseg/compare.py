"""Two sets of OOF maps of the same tiles, compared fold by fold: is a recipe change a gain?

On the real tiles a six-fold OOF figure moves by about 0.005 with the training seeds alone, and
one fold by up to 0.02 (docs/real_data.md), so a change's mean difference says little without
its spread: each fold's difference is one paired sample (same tiles, same fold), and their
standard error says how far the mean could be from zero by the seeds' chance alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from saltseg import metric
from saltseg.blend import score_row
from saltseg.errors import SaltsegError
from saltseg.postprocess import binarise


def tuned_image_scores(truth: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Each tile's score at the threshold and ``empty_below`` tuned on all of ``probs``, as the
    blend step tunes its "oof" post-processing settings."""
    row = score_row("maps", 1.0, truth, probs)
    masks = binarise(probs, row["best_threshold"], row["best_empty_below"])
    return metric.image_scores(truth, masks)


def paired_fold_differences(
    truth: np.ndarray, baseline: np.ndarray, variant: np.ndarray, folds: np.ndarray
) -> pd.DataFrame:
    """One row per fold, then ``all``: each set's metric at 0.5 and after its own tuned
    threshold and ``empty_below`` (``baseline_05``, ``variant_05``, ``baseline_tuned``,
    ``variant_tuned``) and the variant's lead (``diff_05``, ``diff_tuned``). The ``all`` row adds
    the standard error of the fold differences' mean (``se_05``, ``se_tuned``) and how many folds
    the variant leads (``ahead_05``, ``ahead_tuned``); its lead is over all the tiles, which is the
    folds' mean weighted by their tiles (equal folds: the plain mean)."""
    truth, folds = np.asarray(truth), np.asarray(folds)
    if not (len(truth) == len(baseline) == len(variant) == len(folds)):
        raise SaltsegError(
            f"paired comparison: {len(truth)} masks, {len(baseline)} and {len(variant)} maps, "
            f"{len(folds)} fold labels"
        )
    scores = {
        "baseline_05": metric.image_scores(truth, binarise(baseline, 0.5)),
        "variant_05": metric.image_scores(truth, binarise(variant, 0.5)),
        "baseline_tuned": tuned_image_scores(truth, baseline),
        "variant_tuned": tuned_image_scores(truth, variant),
    }
    rows = []
    for fold in np.unique(folds):
        at = folds == fold
        row = {"fold": str(fold), "tiles": int(at.sum())}
        row |= {k: float(v[at].mean()) for k, v in scores.items()}
        rows.append(row)
    table = pd.DataFrame(rows)
    for kind in ("05", "tuned"):
        table[f"diff_{kind}"] = table[f"variant_{kind}"] - table[f"baseline_{kind}"]
    total: dict[str, Any] = {"fold": "all", "tiles": len(truth)}
    total |= {k: float(v.mean()) for k, v in scores.items()}
    for kind in ("05", "tuned"):
        d = table[f"diff_{kind}"].to_numpy()
        total[f"diff_{kind}"] = total[f"variant_{kind}"] - total[f"baseline_{kind}"]
        total[f"se_{kind}"] = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan
        total[f"ahead_{kind}"] = int((d > 0).sum())
    out = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    # counts stay integers beside the per-fold rows' missing values
    return out.astype({"ahead_05": "Int64", "ahead_tuned": "Int64"})
