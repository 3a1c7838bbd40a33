"""Turn blended test probabilities into final masks, one rule at a time, and measure each rule.

Steps, in order (config keys in brackets):
  1. threshold         p > t; t a number or "oof" (the blend's best OOF threshold) [threshold]
  2. empty_below       tiles whose largest probability is under e predicted empty; e a number,
                       "oof" (the blend's best OOF level, none where none helps) or null (off)
                       [empty_below]
  3. min_component     remove 8-connected salt components smaller than n pixels [min_component]
  4. blank_empty       blank tiles (one grey value) predicted empty [blank_empty]
  5. mosaic            the rules of saltseg.mosaic.rules [mosaic_rules: {enabled, vertical,
                       empty_below_full_salt}]
  6. all_salt_empty    masks that are salt everywhere set empty [all_salt_empty]

:func:`postprocess` returns the masks and a stats table (``step, enabled, tiles_changed,
pixels_changed, nonempty_after, detail``; tiles_changed counts tiles whose mask differs from the
previous step's, the threshold step compares with all-empty masks); :func:`ablation`, when the
test truth is known, the score of each one-rule change (``variant, threshold, score, delta,
nonempty``; delta = score - score of "full"); :func:`oof_ablation` the same table for the
labelled tiles' out-of-fold maps, post-processed fold by fold as if they were test tiles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Annotated, Literal

import cv2
import numpy as np
import pandas as pd
from pydantic import Field

from saltseg import metric
from saltseg.errors import SaltsegError
from saltseg.mosaic.rules import apply_mosaic_rules, oof_rule_effects
from saltseg.options import Bool, Int, Number, Options

logger = logging.getLogger(__name__)

STATS_COLUMNS = ["step", "enabled", "tiles_changed", "pixels_changed", "nonempty_after", "detail"]
ABLATION_COLUMNS = ["variant", "threshold", "score", "delta", "nonempty"]
_CHUNK = 2048  # tiles per connected-components call: ~20 MB of int32 labels


class MosaicRules(Options):
    """The 1st-place mosaic rules (saltseg.mosaic.rules) applied to the test masks."""

    enabled: Bool = True
    vertical: Bool = True  # continue vertical train masks down their mosaic column
    empty_below_full_salt: Bool = False  # empty tiles below a train tile whose bottom row is salt


class PostprocessConfig(Options):
    threshold: Annotated[Number, Field(ge=0.0, lt=1.0)] | Literal["oof"] = 0.5
    # A tile needs one pixel this confident to keep its salt (empty/non-empty decided apart
    # from the boundary); None: off.
    empty_below: Annotated[Number, Field(gt=0.0, le=1.0)] | Literal["oof"] | None = None
    min_component: Annotated[Int, Field(ge=0)] = 0  # 0 = keep every component
    blank_empty: Bool = True
    mosaic_rules: MosaicRules = MosaicRules()
    all_salt_empty: Bool = False


def remove_small_components(masks: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Drop 8-connected components of fewer than ``min_size`` pixels; (masks, components removed).

    Tiles are stacked into tall images with an empty row between tiles, so one
    connectedComponentsWithStats call labels a whole chunk and no component crosses tiles.
    """
    masks = np.asarray(masks, dtype=bool)
    out = masks.copy()
    if min_size <= 1 or not masks.size:
        return out, 0
    nonempty = np.flatnonzero(masks.reshape(len(masks), -1).any(axis=1))
    h, w = masks.shape[1:]
    removed = 0
    for start in range(0, len(nonempty), _CHUNK):
        idx = nonempty[start : start + _CHUNK]
        tall = np.zeros((len(idx), h + 1, w), dtype=np.uint8)
        tall[:, :h] = masks[idx]
        _, labels, stats, _ = cv2.connectedComponentsWithStats(
            tall.reshape(-1, w), connectivity=8, ltype=cv2.CV_32S
        )
        small = stats[:, cv2.CC_STAT_AREA] < min_size
        small[0] = False  # label 0 is the background
        removed += int(small.sum())
        out[idx] = ~small[labels].reshape(len(idx), h + 1, w)[:, :h] & masks[idx]
    return out, removed


def _require_threshold(cfg: PostprocessConfig) -> float:
    for key in ("threshold", "empty_below"):
        if isinstance(getattr(cfg, key), str):
            raise SaltsegError(f"postprocess: {key} 'oof' needs the final blend's score table")
    return float(cfg.threshold)


def empty_unless_confident(probs: np.ndarray, masks: np.ndarray, level: float) -> np.ndarray:
    """``masks`` with the tiles whose largest probability ``probs`` is under ``level`` emptied."""
    out = np.array(masks, dtype=bool)
    out[np.asarray(probs).reshape(len(out), -1).max(axis=1) < level] = False
    return out


def binarise(probs: np.ndarray, threshold: float, empty_below: float | None = None) -> np.ndarray:
    """Masks of ``probs`` at ``threshold``, then :func:`empty_unless_confident` at
    ``empty_below`` (None or NaN: off): the first two steps of :func:`postprocess`."""
    # float(): a Python float compares in the maps' own dtype, whatever type the threshold came
    # in; a float64 one would find float32 maps' 0.4 above 0.4. Post-processing and the OOF
    # tuning (saltseg.blend) both binarise here, so a tuned threshold means the same masks.
    masks = np.asarray(probs) > float(threshold)
    if empty_below is not None and not np.isnan(empty_below):
        masks = empty_unless_confident(probs, masks, float(empty_below))
    return masks


def oof_mosaic_rule_effects(
    layout: pd.DataFrame,
    ids: np.ndarray,
    folds: np.ndarray,
    truth: np.ndarray,
    probs: np.ndarray,
    threshold: float,
    empty_below: float | None = None,
) -> pd.DataFrame:
    """Each mosaic rule's effect on out-of-fold maps (:func:`oof_rule_effects`), the maps first
    binarised as :func:`postprocess` does before the rules: ``threshold``, then ``empty_below``
    (None or NaN: off)."""
    return oof_rule_effects(layout, ids, folds, truth, binarise(probs, threshold, empty_below))


def _check_mosaic(mosaic: Mapping | None) -> Mapping:
    if mosaic is None:
        raise SaltsegError("postprocess: mosaic rules are enabled but no mosaic layout was given")
    missing = [k for k in ("layout", "train_ids", "train_masks") if k not in mosaic]
    if missing:
        raise ValueError(f"mosaic inputs lack {missing}")
    return mosaic


def postprocess(
    probs: np.ndarray,
    ids: np.ndarray,
    blank: np.ndarray,
    cfg: PostprocessConfig,
    *,
    mosaic: Mapping | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Final masks (bool (N, H, W)) and per-step stats for test maps ``probs`` of ``ids``.

    ``mosaic``: ``{"layout": DataFrame id, mosaic, row, col, "train_ids": (M,),
    "train_masks": bool (M, H, W)}``; required when ``cfg.mosaic_rules.enabled``.
    """
    ids = np.asarray(ids).astype(str)
    blank = np.asarray(blank, dtype=bool)
    if not (len(probs) == len(ids) == len(blank)):
        raise ValueError(f"{len(probs)} maps, {len(ids)} ids and {len(blank)} blank flags")
    rows: list[dict] = []

    def record(step: str, enabled: bool, before, after: np.ndarray, detail: str = "") -> None:
        # before=None: compare with all-empty masks (the threshold step).
        diff = (after if before is None else before != after).reshape(len(after), -1)
        rows.append(
            {
                "step": step,
                "enabled": enabled,
                "tiles_changed": int(diff.any(axis=1).sum()),
                "pixels_changed": int(diff.sum()),
                "nonempty_after": int(after.reshape(len(after), -1).any(axis=1).sum()),
                "detail": detail,
            }
        )

    t = _require_threshold(cfg)
    masks = binarise(probs, t)
    record("threshold", True, None, masks, f"threshold={t:g}")

    before = masks
    if cfg.empty_below is not None:
        masks = empty_unless_confident(probs, masks, float(cfg.empty_below))
    record(
        "empty_below",
        cfg.empty_below is not None,
        before,
        masks,
        "" if cfg.empty_below is None else f"empty_below={float(cfg.empty_below):g}",
    )

    before = masks
    if cfg.min_component > 0:
        masks, n_removed = remove_small_components(masks, int(cfg.min_component))
        detail = f"min_component={cfg.min_component}, components_removed={n_removed}"
    else:
        detail = ""
    record("min_component", cfg.min_component > 0, before, masks, detail)

    before = masks
    if cfg.blank_empty:
        masks = masks.copy()
        masks[blank] = False
    record("blank_empty", cfg.blank_empty, before, masks, f"blank_tiles={int(blank.sum())}")

    before = masks
    detail = ""
    if cfg.mosaic_rules.enabled:
        mosaic = _check_mosaic(mosaic)
        masks, counts = apply_mosaic_rules(
            mosaic["layout"],
            np.asarray(mosaic["train_ids"]).astype(str),
            np.asarray(mosaic["train_masks"], dtype=bool),
            ids,
            masks,
            vertical=cfg.mosaic_rules.vertical,
            empty_below_full_salt=cfg.mosaic_rules.empty_below_full_salt,
        )
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != before.shape:
            raise ValueError(
                f"mosaic rules returned masks shaped {masks.shape}, not {before.shape}"
            )
        detail = json.dumps(counts, default=str, sort_keys=True)
    record("mosaic", cfg.mosaic_rules.enabled, before, masks, detail)

    before = masks
    if cfg.all_salt_empty:
        full = masks.reshape(len(masks), -1).all(axis=1)
        masks = masks.copy()
        masks[full] = False
    record("all_salt_empty", cfg.all_salt_empty, before, masks)

    stats = pd.DataFrame(rows, columns=STATS_COLUMNS)
    logger.debug("post-processing:\n%s", stats.to_string(index=False))  # ablation runs it often
    return masks, stats


def ablation_variants(
    cfg: PostprocessConfig, with_mosaic: bool, with_blank_empty: bool = True
) -> list[tuple[str, PostprocessConfig]]:
    """The full config, then each enabled rule switched off and each optional rule switched on
    (``with_blank_empty`` False: not the blank-tile rule, where no tile could show its effect)."""

    def replace(c: Options, **changes) -> Options:
        return c.model_copy(update=changes)

    variants = [("full", cfg)]
    if float(cfg.threshold) != 0.5:
        variants.append(("threshold 0.5", replace(cfg, threshold=0.5)))
    if cfg.empty_below is not None:
        variants.append(("no empty_below", replace(cfg, empty_below=None)))
    if cfg.min_component > 0:
        variants.append(("no min_component", replace(cfg, min_component=0)))
    for flag in ("blank_empty", "all_salt_empty") if with_blank_empty else ("all_salt_empty",):
        on = getattr(cfg, flag)
        variants.append((f"{'no' if on else 'with'} {flag}", replace(cfg, **{flag: not on})))
    if with_mosaic:
        m = cfg.mosaic_rules
        if not m.enabled:
            variants.append(("with mosaic", replace(cfg, mosaic_rules=replace(m, enabled=True))))
        else:
            variants.append(("no mosaic", replace(cfg, mosaic_rules=replace(m, enabled=False))))
            for flag in ("vertical", "empty_below_full_salt"):
                on = getattr(m, flag)
                sub = replace(cfg, mosaic_rules=replace(m, **{flag: not on}))
                variants.append((f"mosaic {'without' if on else 'with'} {flag}", sub))
    bare = PostprocessConfig(
        threshold=0.5, blank_empty=False, mosaic_rules=MosaicRules(enabled=False)
    )
    if bare != cfg:
        variants.append(("no rules (p > 0.5)", bare))
    return variants


def _ablation_table(variants, masks_of, truth_masks: np.ndarray) -> pd.DataFrame:
    """Score of each ``(name, config)`` variant's masks (``masks_of(config)``) against the truth;
    delta = score - score of the first variant ("full")."""
    rows = []
    for name, variant in variants:
        masks = masks_of(variant)
        rows.append(
            {
                "variant": name,
                "threshold": float(variant.threshold),
                "score": metric.score(truth_masks, masks),
                "nonempty": int(masks.reshape(len(masks), -1).any(axis=1).sum()),
            }
        )
    table = pd.DataFrame(rows)
    table["delta"] = table["score"] - table["score"].iloc[0]
    return table[ABLATION_COLUMNS]


def ablation(
    probs: np.ndarray,
    ids: np.ndarray,
    blank: np.ndarray,
    truth_masks: np.ndarray,
    cfg: PostprocessConfig,
    mosaic: Mapping | None = None,
    scored: np.ndarray | None = None,
) -> pd.DataFrame:
    """Test score of the full config and of each one-rule change (needs known test truth).

    ``truth_masks`` are the masks of the tiles at positions ``scored`` (None: of every tile);
    the rules run on all the tiles (the mosaic rules look at neighbours), the score on those."""
    _require_threshold(cfg)

    def masks_of(variant: PostprocessConfig) -> np.ndarray:
        masks, _ = postprocess(probs, ids, blank, variant, mosaic=mosaic)
        return masks if scored is None else masks[scored]

    variants = ablation_variants(cfg, with_mosaic=mosaic is not None)
    table = _ablation_table(variants, masks_of, truth_masks)
    logger.info("post-processing ablation:\n%s", table.to_string(index=False))
    return table


def oof_ablation(
    probs: np.ndarray,
    ids: np.ndarray,
    folds: np.ndarray,
    blank: np.ndarray,
    truth_masks: np.ndarray,
    cfg: PostprocessConfig,
    layout: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`ablation` on labelled tiles: each variant post-processes their out-of-fold maps
    group by group, the tiles of one fold in the place of test tiles and the true masks of every
    other labelled tile as the train masks the mosaic rules read (what a submission's test tiles
    see); the score covers all the tiles. ``folds`` is each tile's fold; the tiles of fold -1
    (blank, never trained on) form one more group. ``layout`` (the mosaics) adds the mosaic
    variants; without it the mosaic rules must be off."""
    _require_threshold(cfg)
    ids = np.asarray(ids).astype(str)
    folds, blank = np.asarray(folds), np.asarray(blank, dtype=bool)
    truth_masks = np.asarray(truth_masks, dtype=bool)
    if not (len(probs) == len(ids) == len(folds) == len(blank) == len(truth_masks)):
        raise ValueError("maps, ids, folds, blank flags and truth masks differ in length")

    def masks_of(variant: PostprocessConfig) -> np.ndarray:
        out = np.zeros(np.shape(probs), dtype=bool)
        for k in np.unique(folds):
            held = folds == k
            mosaic = None
            if layout is not None:
                mosaic = {
                    "layout": layout,
                    "train_ids": ids[~held],
                    "train_masks": truth_masks[~held],
                }
            out[held], _ = postprocess(probs[held], ids[held], blank[held], variant, mosaic=mosaic)
        return out

    # Blank labelled tiles have no fold and so no map of their own: the blank-tile rule has
    # nothing to change here, and a row claiming it changes nothing would mislead.
    variants = ablation_variants(cfg, with_mosaic=layout is not None, with_blank_empty=False)
    table = _ablation_table(variants, masks_of, truth_masks)
    logger.info("post-processing ablation, out-of-fold maps:\n%s", table.to_string(index=False))
    return table
