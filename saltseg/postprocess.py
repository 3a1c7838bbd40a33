"""Turn blended test probabilities into final masks, one rule at a time, and measure each rule.

Steps, in order (config keys in brackets):
  1. threshold         p > t; t a number or "oof" (the blend's best OOF threshold) [threshold]
  2. min_component     remove 8-connected salt components smaller than n pixels [min_component]
  3. blank_empty       blank tiles (one grey value) predicted empty [blank_empty]
  4. mosaic            mosaic rules of saltseg.mosaic_rules [mosaic: {enabled, vertical,
                       empty_below_full_salt}]
  5. all_salt_empty    masks that are salt everywhere set empty [all_salt_empty]

Outputs of :func:`postprocess_files`: the masks as a saltseg.masks_io mask set, a stats CSV
(``step, enabled, tiles_changed, pixels_changed, nonempty_after, detail``; tiles_changed counts
tiles whose mask differs from the previous step's, the threshold step compares with all-empty
masks) and, when test truth is known, an ablation CSV
(``variant, threshold, score, delta, nonempty``; delta = score - score of "full").
``tiles_dir`` is the prepared tile-set folder (saltseg.data.save_tileset) or its tiles.parquet.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from saltseg import metric
from saltseg.atomic import atomic_path
from saltseg.errors import SaltsegError
from saltseg.masks_io import save_masks
from saltseg.mosaic import read_layout
from saltseg.probs import load_probs

logger = logging.getLogger(__name__)

STATS_COLUMNS = ["step", "enabled", "tiles_changed", "pixels_changed", "nonempty_after", "detail"]
ABLATION_COLUMNS = ["variant", "threshold", "score", "delta", "nonempty"]
_CHUNK = 2048  # tiles per connected-components call: ~20 MB of int32 labels


@dataclass(frozen=True)
class MosaicConfig:
    enabled: bool = False
    vertical: bool = True  # continue vertical train masks down their mosaic column
    empty_below_full_salt: bool = False  # empty tiles below a train tile whose bottom row is salt


@dataclass(frozen=True)
class PostprocessConfig:
    threshold: float | str = 0.5  # or "oof"
    min_component: int = 0  # 0 = keep every component
    blank_empty: bool = True
    mosaic: MosaicConfig = field(default_factory=MosaicConfig)
    all_salt_empty: bool = False

    @classmethod
    def from_dict(cls, cfg: Mapping | None) -> PostprocessConfig:
        """Build from the config YAML's ``postprocess`` mapping; unknown keys are errors."""
        cfg = dict(cfg or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise SaltsegError(
                f"postprocess config: unknown key(s) {unknown}; known: {sorted(known)}"
            )
        mosaic = dict(cfg.pop("mosaic", None) or {})
        mosaic_known = {f.name for f in dataclasses.fields(MosaicConfig)}
        unknown = sorted(set(mosaic) - mosaic_known)
        if unknown:
            raise SaltsegError(f"postprocess config: unknown mosaic key(s) {unknown}")
        out = cls(mosaic=MosaicConfig(**mosaic), **cfg)
        out.check()
        return out

    def check(self) -> None:
        t = self.threshold
        if isinstance(t, str):
            if t != "oof":
                raise SaltsegError(
                    f"postprocess config: threshold must be a number or 'oof', got {t!r}"
                )
        elif isinstance(t, bool) or not 0.0 <= float(t) < 1.0:
            raise SaltsegError(f"postprocess config: threshold must be in [0, 1), got {t!r}")
        if isinstance(self.min_component, bool) or int(self.min_component) != self.min_component:
            raise SaltsegError(
                f"postprocess config: min_component must be an integer, got {self.min_component!r}"
            )
        if self.min_component < 0:
            raise SaltsegError(
                f"postprocess config: min_component must be >= 0, got {self.min_component}"
            )


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
    if isinstance(cfg.threshold, str):
        raise SaltsegError("postprocess: threshold 'oof' needs the ensemble score table")
    return float(cfg.threshold)


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
    "train_masks": bool (M, H, W)}``; required when ``cfg.mosaic.enabled``.
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
    masks = np.asarray(probs) > t
    record("threshold", True, None, masks, f"threshold={t:g}")

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
    if cfg.mosaic.enabled:
        mosaic = _check_mosaic(mosaic)
        # Imported here so the rest of post-processing works without the mosaic module.
        from saltseg.mosaic_rules import apply_mosaic_rules

        masks, counts = apply_mosaic_rules(
            mosaic["layout"],
            np.asarray(mosaic["train_ids"]).astype(str),
            np.asarray(mosaic["train_masks"], dtype=bool),
            ids,
            masks,
            vertical=cfg.mosaic.vertical,
            empty_below_full_salt=cfg.mosaic.empty_below_full_salt,
        )
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != before.shape:
            raise ValueError(
                f"mosaic rules returned masks shaped {masks.shape}, not {before.shape}"
            )
        detail = json.dumps(counts, default=str, sort_keys=True)
    record("mosaic", cfg.mosaic.enabled, before, masks, detail)

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
    cfg: PostprocessConfig, with_mosaic: bool
) -> list[tuple[str, PostprocessConfig]]:
    """The full config, then each enabled rule switched off and each optional rule switched on."""
    replace = dataclasses.replace
    variants = [("full", cfg)]
    if float(cfg.threshold) != 0.5:
        variants.append(("threshold 0.5", replace(cfg, threshold=0.5)))
    if cfg.min_component > 0:
        variants.append(("no min_component", replace(cfg, min_component=0)))
    for flag in ("blank_empty", "all_salt_empty"):
        on = getattr(cfg, flag)
        variants.append((f"{'no' if on else 'with'} {flag}", replace(cfg, **{flag: not on})))
    if with_mosaic:
        m = cfg.mosaic
        if not m.enabled:
            variants.append(("with mosaic", replace(cfg, mosaic=replace(m, enabled=True))))
        else:
            variants.append(("no mosaic", replace(cfg, mosaic=replace(m, enabled=False))))
            for flag in ("vertical", "empty_below_full_salt"):
                on = getattr(m, flag)
                sub = replace(cfg, mosaic=replace(m, **{flag: not on}))
                variants.append((f"mosaic {'without' if on else 'with'} {flag}", sub))
    bare = PostprocessConfig(threshold=0.5, blank_empty=False)
    if bare != cfg:
        variants.append(("no rules (p > 0.5)", bare))
    return variants


def ablation(
    probs: np.ndarray,
    ids: np.ndarray,
    blank: np.ndarray,
    truth_masks: np.ndarray,
    cfg: PostprocessConfig,
    mosaic: Mapping | None = None,
) -> pd.DataFrame:
    """Test score of the full config and of each one-rule change (needs known test truth)."""
    _require_threshold(cfg)
    rows = []
    for name, variant in ablation_variants(cfg, with_mosaic=mosaic is not None):
        masks, _ = postprocess(probs, ids, blank, variant, mosaic=mosaic)
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
    table = table[ABLATION_COLUMNS]
    logger.info("post-processing ablation:\n%s", table.to_string(index=False))
    return table


# ---------------------------------------------------------------- file wrapper


def _read_truth(path: str | os.PathLike, ids: np.ndarray) -> np.ndarray:
    from saltseg.submission import check_ids, decode_all, read_rle_csv

    df = read_rle_csv(path)
    check_ids(df["id"].tolist(), ids.tolist(), path)
    df = df.set_index("id").loc[ids.tolist()].reset_index()
    return decode_all(df, path)


def postprocess_files(
    test_probs: str | os.PathLike,
    tiles_dir: str | os.PathLike,
    ensemble_table: str | os.PathLike | None,
    mosaic_layout: str | os.PathLike | None,
    cfg: PostprocessConfig | Mapping | None,
    out_masks: str | os.PathLike,
    out_stats: str | os.PathLike,
    truth_csv: str | os.PathLike | None = None,
    out_ablation: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Post-process a test probability file into a mask set; write stats (and ablation).

    ``ensemble_table`` is needed only for ``threshold: oof``; ``mosaic_layout`` only for mosaic
    rules (with ``truth_csv`` it also lets the ablation try them when disabled).
    With ``truth_csv`` (``id,rle_mask`` for every test id) the ablation table measures each
    rule; without it ``out_ablation`` (when given) gets the table's header only.
    """
    from saltseg.ensemble import read_oof_threshold
    from saltseg.pseudo import blank_of_test_ids

    if not isinstance(cfg, PostprocessConfig):
        cfg = PostprocessConfig.from_dict(cfg)
    if truth_csv is not None and out_ablation is None:
        raise SaltsegError("postprocess: truth_csv needs out_ablation for the ablation table")
    if cfg.threshold == "oof":
        if ensemble_table is None:
            raise SaltsegError("postprocess: threshold 'oof' needs the ensemble score table")
        cfg = dataclasses.replace(cfg, threshold=read_oof_threshold(ensemble_table))
        logger.info("using the OOF threshold %.2f from %s", cfg.threshold, ensemble_table)
    if cfg.mosaic.enabled and mosaic_layout is None:
        raise SaltsegError("postprocess: mosaic rules are enabled but no mosaic layout was given")

    ids, probs = load_probs(test_probs)
    ids = ids.astype(str)
    blank = blank_of_test_ids(tiles_dir, ids)
    mosaic = None
    if mosaic_layout is not None and (cfg.mosaic.enabled or truth_csv is not None):
        from saltseg.data import load_tileset

        ts = load_tileset(tiles_dir).split("train")
        mosaic = {
            "layout": read_layout(mosaic_layout),
            "train_ids": ts.table["id"].astype(str).to_numpy(),
            "train_masks": np.asarray(ts.masks, dtype=bool),
        }
    truth = _read_truth(truth_csv, ids) if truth_csv is not None else None

    masks, stats = postprocess(probs, ids, blank, cfg, mosaic=mosaic)
    logger.info("post-processing:\n%s", stats.to_string(index=False))
    table = ablation(probs, ids, blank, truth, cfg, mosaic) if truth is not None else None
    save_masks(out_masks, ids, masks)
    with atomic_path(out_stats) as tmp:
        stats.to_csv(tmp, index=False)
    if out_ablation is not None:
        if table is None:  # no test truth: keep the declared output, with nothing measured
            table = pd.DataFrame(columns=ABLATION_COLUMNS)
        with atomic_path(out_ablation) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6f")
    return stats
