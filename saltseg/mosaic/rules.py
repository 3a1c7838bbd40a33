"""Post-processing test masks with the train masks of the same mosaic (the 1st-place rules).

Labelled salt masks in TGS often continue straight down: a mask whose rows all equal its last row
("vertical") means the salt boundary runs vertically through the tile and on into the tiles below.

Mask classes (:func:`classify_masks`), checked in this order:

- ``empty``: no salt.
- ``full_bottom``: the last row is all salt (includes all-salt masks).
- ``vertical``: every row equals the last row (which is then partly salt).
- ``half_vertical``: the bottom 50 rows equal the last row, but not every row does.
- ``other``: anything else.

Rules (:func:`apply_mosaic_rules`); only test tiles change. In every mosaic column, a test tile is
governed by the nearest train tile above it in that column (any distance; gaps of unplaced tiles
do not interrupt a column, the next train tile does):

- ``vertical_down``: the governing train tile is vertical or half-vertical -> the test tile
  becomes that tile's last row repeated.
- ``vertical_up``: a vertical train tile at grid row >= 3 fills the test tile directly above it
  with its first row, unless a downward rule already set that tile.
- ``empty_below_full_salt`` (optional, off by default): the governing train tile's last row is all
  salt -> the test tile is emptied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from saltseg.metric import score

logger = logging.getLogger(__name__)

HALF_ROWS = 50  # "half-vertical": this many bottom rows equal the last row
UP_MIN_ROW = 3  # a vertical tile fills the tile above only from this grid row on
CLASSES = ("empty", "full_bottom", "vertical", "half_vertical", "other")


def classify_masks(masks: np.ndarray) -> np.ndarray:
    """Class name per mask (see the module docstring); ``masks`` is bool (N, H, W)."""
    m = np.asarray(masks).astype(bool)
    if m.ndim != 3:
        raise ValueError(f"expected masks shaped (N, H, W), got {m.shape}")
    last = m[:, -1:, :]
    same = (m == last).all(axis=2)  # (N, H): row equals the last row
    empty = ~m.any(axis=(1, 2))
    full_bottom = last[:, 0, :].all(axis=1)
    vertical = same.all(axis=1)
    half = same[:, -HALF_ROWS:].all(axis=1)
    out = np.full(len(m), "other", dtype=object)
    out[half] = "half_vertical"
    out[vertical] = "vertical"
    out[full_bottom] = "full_bottom"
    out[empty] = "empty"
    return out.astype(str)


def apply_mosaic_rules(
    layout: pd.DataFrame,
    train_ids: Sequence[str],
    train_masks: np.ndarray,
    test_ids: Sequence[str],
    test_masks: np.ndarray,
    *,
    vertical: bool = True,
    empty_below_full_salt: bool = False,
) -> tuple[np.ndarray, dict[str, int]]:
    """Apply the mosaic rules; returns (new test masks, number of test tiles changed per rule).

    ``layout`` has columns ``id, mosaic, row, col``; ``test_masks`` is not modified.
    """
    train_ids = [str(i) for i in train_ids]
    test_ids = [str(i) for i in test_ids]
    if len(train_ids) != len(train_masks) or len(test_ids) != len(test_masks):
        raise ValueError("ids and masks differ in length")
    out = np.array(test_masks, dtype=bool, copy=True)
    counts = {"vertical_down": 0, "vertical_up": 0, "empty_below_full_salt": 0}
    if not (vertical or empty_below_full_salt) or layout.empty:
        return out, counts

    train_index = {t: i for i, t in enumerate(train_ids)}
    test_index = {t: i for i, t in enumerate(test_ids)}
    classes = classify_masks(train_masks) if len(train_ids) else np.array([], dtype=str)
    h = out.shape[1]

    def set_mask(j: int, new: np.ndarray, rule: str) -> None:
        if not np.array_equal(out[j], new):
            counts[rule] += 1
        out[j] = new

    for _, column in layout.groupby(["mosaic", "col"], sort=True):
        column = column.sort_values("row")
        governor: int | None = None  # index into train of the nearest train tile above
        filled_down: set[int] = set()
        for tid in column["id"].astype(str):
            if tid in train_index:
                governor = train_index[tid]
                continue
            j = test_index.get(tid)
            if j is None or governor is None:
                continue
            kind = classes[governor]
            if vertical and kind in ("vertical", "half_vertical"):
                set_mask(j, np.repeat(train_masks[governor][-1:, :], h, axis=0), "vertical_down")
                filled_down.add(j)
            elif empty_below_full_salt and kind == "full_bottom":
                set_mask(j, np.zeros_like(out[j]), "empty_below_full_salt")
                filled_down.add(j)
        if not vertical:
            continue
        cell = {int(r): str(t) for r, t in zip(column["row"], column["id"], strict=True)}
        for r, tid in cell.items():
            i = train_index.get(tid)
            if i is None or classes[i] != "vertical" or r < UP_MIN_ROW:
                continue
            j = test_index.get(cell.get(r - 1, ""))
            if j is not None and j not in filled_down:
                set_mask(j, np.repeat(train_masks[i][:1, :], h, axis=0), "vertical_up")
    logger.info("mosaic rules changed %s", counts)
    return out, counts


RULE_VARIANTS = {
    "no mosaic rules": {"vertical": False, "empty_below_full_salt": False},
    "vertical": {"vertical": True, "empty_below_full_salt": False},
    "empty_below_full_salt": {"vertical": False, "empty_below_full_salt": True},
    "both": {"vertical": True, "empty_below_full_salt": True},
}


def oof_rule_effects(
    layout: pd.DataFrame,
    ids: Sequence[str],
    folds: Sequence[int],
    truth: np.ndarray,
    predicted: np.ndarray,
) -> pd.DataFrame:
    """Each rule's effect on labelled tiles: the metric of their out-of-fold masks with the rules
    applied fold by fold, the tiles of fold k taking the place of test tiles and the masks of the
    other folds' tiles governing them (as the train masks govern test tiles in a submission).

    ``folds`` holds each tile's fold (-1: in no fold, never changed but may govern). Returns one
    row per variant of RULE_VARIANTS: ``variant, score, delta, tiles_changed``.
    """
    ids = np.asarray([str(i) for i in ids])
    folds = np.asarray(folds)
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    if not (len(ids) == len(folds) == len(truth) == len(predicted)):
        raise ValueError("ids, folds, truth and predicted masks differ in length")
    rows = []
    for name, flags in RULE_VARIANTS.items():
        out = predicted.copy()
        for k in np.unique(folds[folds >= 0]):
            held, governing = folds == k, folds != k
            out[held], _ = apply_mosaic_rules(
                layout, ids[governing], truth[governing], ids[held], predicted[held], **flags
            )
        changed = (out != predicted).reshape(len(out), -1).any(axis=1)
        rows.append(
            {
                "variant": name,
                "score": score(truth[folds >= 0], out[folds >= 0]),
                "tiles_changed": int(changed.sum()),
            }
        )
    table = pd.DataFrame(rows)
    table["delta"] = table["score"] - table["score"].iloc[0]
    return table[["variant", "score", "delta", "tiles_changed"]]
