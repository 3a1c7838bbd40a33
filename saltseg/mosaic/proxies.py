"""How trustworthy a mosaic layout is when no truth layout exists (the real tiles).

- Mask continuity: for seams between two labelled tiles, do their salt masks agree along the
  seam? A wrong link shows up as a salt boundary that jumps there. Compared with random pairs.
- Loop closure: the share of fully occupied 2x2 blocks whose four seams all match (descriptor
  distance below the assembly's limit), and of placed tiles with two or more matching seams.
- Stability: assemble again without a random tenth of the tiles; the share of the remaining
  tiles' neighbour pairs that are still there.
- The flip test, an estimate of the false seams: turn a random half of the tiles upside down
  and assemble again. A seam between a turned and an unturned tile cannot be true, and as many
  false seams are expected between two tiles of the same half, so twice the mixed seams
  estimate the false ones. The turned set has more sides without a true partner than the real
  one, and it is assembled at the real run's ratio thresholds (never higher), so the estimate
  errs on the high side.
- The cut test, true seams with the tiles' own texture: cut tiles in two at the middle and put
  both halves among all the tiles. A cut is a seam whose truth is known, with the real texture
  and the real rivals, so the share of cuts linked (mutual best, ratio test passed) estimates
  the recall of true seams, and the share of first halves linked to some tile once their
  partner is taken away estimates how often a side without a true partner is linked by chance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from saltseg.mosaic.assemble import (
    DIRECTIONS,
    MosaicOptions,
    assemble,
    mutual_links,
    seam_distances,
    side_descriptors,
)
from saltseg.mosaic.evaluate import neighbour_pairs

PAIR_KEY = ["first", "second", "direction"]


def _edges(masks: np.ndarray, direction: str, side: str) -> np.ndarray:
    """The border line of each mask that touches the seam: the first tile's far side
    ("last" column or row) or the second tile's near side ("first")."""
    index = -1 if side == "last" else 0
    return masks[:, :, index] if direction == "h" else masks[:, index, :]


def seam_agreement(
    first_masks: np.ndarray, second_masks: np.ndarray, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    """(share of equal pixels along each seam, whether the seam is informative: some salt on
    it, and not salt all along both sides)."""
    a = _edges(np.asarray(first_masks, bool), direction, "last")
    b = _edges(np.asarray(second_masks, bool), direction, "first")
    agree = (a == b).mean(axis=1)
    informative = (a.any(axis=1) | b.any(axis=1)) & ~(a.all(axis=1) & b.all(axis=1))
    return agree, informative


def mask_continuity(
    layout: pd.DataFrame,
    masks_by_id: Mapping[str, np.ndarray],
    *,
    seed: int = 0,
    agree_at: float = 0.95,
) -> dict:
    """Mask agreement along the layout's seams between labelled tiles, against random pairs.

    Only informative seams count (salt touches them). ``*_agree`` is the mean share of equal
    pixels, ``*_continuous`` the share of seams with at least ``agree_at`` of them equal.
    """
    pairs = neighbour_pairs(layout, "mosaic")
    labelled = pairs["first"].isin(masks_by_id.keys()) & pairs["second"].isin(masks_by_id.keys())
    pairs = pairs[labelled]
    labelled_ids = sorted(masks_by_id)
    rng = np.random.default_rng(seed)
    linked_agree, random_agree = [], []
    for direction in ("h", "v"):
        sel = pairs[pairs["direction"] == direction]
        if not len(sel):
            continue
        first = np.stack([masks_by_id[i] for i in sel["first"]])
        second = np.stack([masks_by_id[i] for i in sel["second"]])
        agree, informative = seam_agreement(first, second, direction)
        linked_agree.append(agree[informative])
        # The same first tiles, each next to a random labelled tile.
        others = rng.choice(len(labelled_ids), len(sel))
        random_second = np.stack([masks_by_id[labelled_ids[j]] for j in others])
        agree, informative = seam_agreement(first, random_second, direction)
        random_agree.append(agree[informative])
    linked = np.concatenate(linked_agree) if linked_agree else np.zeros(0)
    chance = np.concatenate(random_agree) if random_agree else np.zeros(0)

    def mean(x: np.ndarray) -> float:
        return float(x.mean()) if x.size else float("nan")

    return {
        "labelled_seams": int(len(pairs)),
        "informative_seams": int(linked.size),
        "linked_agree": mean(linked),
        "linked_continuous": mean(linked >= agree_at),
        "random_agree": mean(chance),
        "random_continuous": mean(chance >= agree_at),
    }


def _seam_table(
    layout: pd.DataFrame, ids: Sequence[str], images: np.ndarray, o: MosaicOptions
) -> pd.DataFrame:
    """Every neighbour pair of the layout with its descriptor distance."""
    row_of = {str(t): i for i, t in enumerate(ids)}
    pairs = neighbour_pairs(layout, "mosaic")
    distance = np.full(len(pairs), np.nan)
    for direction in ("h", "v"):
        sel = (pairs["direction"] == direction).to_numpy()
        if sel.any():
            first = pairs.loc[sel, "first"].map(row_of).to_numpy()
            second = pairs.loc[sel, "second"].map(row_of).to_numpy()
            distance[sel] = seam_distances(images, first, second, direction, o)
    return pairs.assign(distance=distance)


def loop_closure(
    layout: pd.DataFrame,
    ids: Sequence[str],
    images: np.ndarray,
    options: MosaicOptions | None = None,
) -> dict:
    """Closed 2x2 blocks and tiles held by two or more matching seams.

    A seam matches when its distance is below the assembly's ``max_distance``; a flat seam
    (no evidence either way) counts as matching.
    """
    o = options or MosaicOptions()
    seams = _seam_table(layout, ids, images, o)
    ok = ~(seams["distance"] >= o.max_distance)  # NaN (flat) passes
    good = set(map(tuple, seams.loc[ok, PAIR_KEY].to_numpy().tolist()))
    cell = {
        (int(m), int(r), int(c)): str(t)
        for t, m, r, c in layout[["id", "mosaic", "row", "col"]].itertuples(index=False)
    }
    blocks = closed = 0
    for (m, r, c), top_left in cell.items():
        tr, bl, br = cell.get((m, r, c + 1)), cell.get((m, r + 1, c)), cell.get((m, r + 1, c + 1))
        if tr is None or bl is None or br is None:
            continue
        blocks += 1
        four = [(top_left, tr, "h"), (bl, br, "h"), (top_left, bl, "v"), (tr, br, "v")]
        closed += all(s in good for s in four)
    matched = seams[ok & seams["distance"].notna()]  # evidence, not just no contradiction
    held = pd.concat([matched["first"], matched["second"]]).value_counts()
    return {
        "seams": int(len(seams)),
        "seams_matching": float(ok.mean()) if len(seams) else float("nan"),
        "blocks_2x2": blocks,
        "blocks_closed": float(closed / blocks) if blocks else float("nan"),
        "tiles_multiply_held": float((held >= 2).sum() / len(layout)) if len(layout) else 0.0,
    }


def stability(
    layout: pd.DataFrame,
    ids: Sequence[str],
    images: np.ndarray,
    options: MosaicOptions | None = None,
    *,
    drop: float = 0.1,
    seed: int = 0,
) -> dict:
    """Assemble again without a random ``drop`` share of the tiles; the share of ``layout``'s
    neighbour pairs between remaining tiles that the new layout still has."""
    ids = np.asarray([str(i) for i in ids])
    keep = np.random.default_rng(seed).random(len(ids)) >= drop
    again = assemble(np.asarray(images)[keep], ids[keep], options)
    before = neighbour_pairs(layout, "mosaic")
    kept = set(ids[keep].tolist())
    before = before[before["first"].isin(kept) & before["second"].isin(kept)]
    after = neighbour_pairs(again, "mosaic")
    survived = before.merge(after, on=PAIR_KEY, how="inner")
    return {
        "dropped": int((~keep).sum()),
        "pairs_before": int(len(before)),
        "pairs_survived": float(len(survived) / len(before)) if len(before) else float("nan"),
        "tiles_placed_again": int(len(again)),
    }


def chosen_thresholds(layout: pd.DataFrame, options: MosaicOptions) -> dict[str, float]:
    """The ratio thresholds the assembly chose for ``layout`` per orientation ("h", "v"), or
    ``options.min_ratio`` for both where the layout does not say."""
    return layout.attrs.get("ratio_thresholds") or dict.fromkeys(DIRECTIONS, options.min_ratio)


def flip_test(
    layout: pd.DataFrame,
    ids: Sequence[str],
    images: np.ndarray,
    options: MosaicOptions | None = None,
    *,
    seed: int = 0,
) -> dict:
    """Estimated false seams of ``layout`` (assembled from ``images`` with ``options``)."""
    o = options or MosaicOptions()
    ids = np.asarray([str(i) for i in ids])
    turned = np.random.default_rng(seed).random(len(ids)) < 0.5
    flipped = np.array(images, copy=True)
    flipped[turned] = flipped[turned][:, ::-1, :]
    chosen = chosen_thresholds(layout, o)
    fixed = o.model_copy(update={"min_ratio": min(chosen.values()), "max_false_rate": 0.0})
    null = neighbour_pairs(assemble(flipped, ids, fixed), "mosaic")
    half = dict(zip(ids.tolist(), turned.tolist(), strict=True))
    mixed = int((null["first"].map(half) != null["second"].map(half)).sum())
    pairs = len(neighbour_pairs(layout, "mosaic"))
    return {
        "null_pairs": int(len(null)),
        "null_mixed_pairs": mixed,
        "false_pairs_estimate": 2 * mixed,
        "false_share_estimate": float(2 * mixed / pairs) if pairs else float("nan"),
    }


def cut_sides(
    images: np.ndarray, rows: np.ndarray, orient: str, options: MosaicOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each of ``rows``' tiles cut in two across the middle (between columns for "h", rows for
    "v"), a true seam: the descriptor of the first half's cut side, of the second half's, and
    whether both carry evidence."""
    images = np.asarray(images)
    middle = images.shape[2 if orient == "h" else 1] // 2
    if orient == "h":
        first_half, second_half = images[:, :, :middle], images[:, :, middle:]
    else:
        first_half, second_half = images[:, :middle, :], images[:, middle:, :]
    q, _, q_valid, _ = side_descriptors(first_half, rows, orient, options)
    _, k, _, k_valid = side_descriptors(second_half, rows, orient, options)
    return q, k, q_valid & k_valid


def cut_links(
    images: np.ndarray,
    rows: np.ndarray,
    thresholds: Mapping[str, float],
    options: MosaicOptions | None = None,
) -> pd.DataFrame:
    """The cut test tile by tile: each tile of ``rows`` cut in two across the middle (between
    columns for "h", rows for "v") at the ratio ``thresholds`` the assembly chose
    (``layout.attrs["ratio_thresholds"]``).

    Each cut's first half joins all the tiles with its cut side as a first side, its second
    half with its cut side as a second side, so their rivals are every tile's sides. One row per
    tile of ``rows``: ``{o}_usable`` (both cut sides carry evidence), ``{o}_linked`` (the cut
    linked as the assembly would link it) and ``{o}_chance`` (the first half linked to any tile
    once the second halves are left out).
    """
    o = options or MosaicOptions()
    images = np.asarray(images)
    rows = np.asarray(rows, dtype=np.int64)
    n_tiles, m = len(images), len(rows)
    # A tile cut twice would be its own rival; a row out of range would wrap around.
    if len(np.unique(rows)) != m or (m and (rows.min() < 0 or rows.max() >= n_tiles)):
        raise ValueError(f"cut rows must be distinct tiles of 0..{n_tiles - 1}")
    everything, none_v = np.arange(n_tiles), np.zeros(m, bool)
    table: dict[str, np.ndarray] = {"row": rows}
    for orient in DIRECTIONS:
        q, k, qv, kv = side_descriptors(images, everything, orient, o)
        cut_q, cut_k, both = cut_sides(images, rows, orient, o)  # both: evidence either side
        none_q = np.zeros_like(cut_q)
        # Rows: the tiles, then the first halves (a first side only), then the second halves.
        all_q = np.vstack([q, cut_q, none_q])
        all_k = np.vstack([k, none_q, cut_k])
        all_qv = np.concatenate([qv, both, none_v])
        threshold = float(thresholds[orient])
        a, b, conf = mutual_links(all_q, all_k, all_qv, np.concatenate([kv, none_v, both]), o)
        strong = (conf > threshold) & (a >= n_tiles) & (a < n_tiles + m)  # from a first half
        linked = np.zeros(m, bool)  # a first side starts one link at most
        linked[a[strong & (b == a + m)] - n_tiles] = True
        # The same with the second halves left out: whatever a first half links is chance.
        a, _, conf = mutual_links(all_q, all_k, all_qv, np.concatenate([kv, none_v, none_v]), o)
        chance = np.zeros(m, bool)
        chance[a[(conf > threshold) & (a >= n_tiles)] - n_tiles] = True  # second halves: no q
        table |= {f"{orient}_usable": both, f"{orient}_linked": linked, f"{orient}_chance": chance}
    return pd.DataFrame(table)


def summarize_cuts(links: pd.DataFrame) -> dict:
    """:func:`cut_links` in figures: ``{o}_recall``, the share of usable cuts linked, and
    ``{o}_chance``, the share of first halves linked to anything without their partners."""
    result: dict = {"cuts": int(len(links))}
    for orient in DIRECTIONS:
        usable = int(links[f"{orient}_usable"].sum())
        linked, chance = int(links[f"{orient}_linked"].sum()), int(links[f"{orient}_chance"].sum())
        result[f"{orient}_cuts"] = usable
        result[f"{orient}_recall"] = float(linked / usable) if usable else float("nan")
        result[f"{orient}_chance"] = float(chance / usable) if usable else float("nan")
    return result


def cut_rows(n_tiles: int, cuts: int = 3000, seed: int = 0) -> np.ndarray:
    """The tiles the cut test cuts: up to ``cuts`` distinct random rows, sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_tiles, min(cuts, n_tiles), replace=False))


def cut_test(
    images: np.ndarray,
    thresholds: Mapping[str, float],
    options: MosaicOptions | None = None,
    *,
    cuts: int = 3000,
    seed: int = 0,
) -> dict:
    """Recall of true seams and the chance links of partner-less sides, per orientation, at the
    ratio ``thresholds`` the assembly chose, over up to ``cuts`` random tiles
    (:func:`cut_links`, :func:`summarize_cuts`)."""
    rows = cut_rows(len(images), cuts, seed)
    return summarize_cuts(cut_links(images, rows, thresholds, options))
