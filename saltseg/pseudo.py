"""Pseudo labels: confident blended test predictions turned into training masks.

Confidence of an image = fraction of its pixels with p < ``low`` or p > ``high``; the pseudo mask
is p > 0.5, or with ``soft`` the probability itself (a soft target for BCE and Dice, which keeps
the ensemble's doubt at salt boundaries; Lovasz losses round it). Kept: non-blank images with
confidence >= ``min_confidence`` (or every non-blank image with ``all``, as the recipe's stage 3
does), at most ``max_images`` of them: a seeded random subset, which keeps the confident images'
mix of empty and salt tiles (the most confident ones are nearly all empty: taking them first kept
994 empty tiles of 1,000 on the real test tiles, and stage 2 lost 0.011 OOF). The counts
(``total, blank, confident, kept, mean_confidence, empty_fraction`` and the parameters used) go
to the report.
"""

from __future__ import annotations

import logging
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from saltseg.options import Bool, Fraction, Int, Options

logger = logging.getLogger(__name__)


class PseudoConfig(Options):
    """Which test predictions become pseudo labels."""

    low: Fraction = 0.2
    high: Fraction = 0.8
    min_confidence: Fraction = 0.9
    all: Bool = False  # every non-blank image, whatever its confidence (the recipe's stage 3)
    max_images: Annotated[Int, Field(ge=1)] | None = None  # a seeded random subset
    seed: Int = 0  # which images a max_images cap keeps
    soft: Bool = False  # the probability as the mask, in place of p > 0.5

    @model_validator(mode="after")
    def _band(self) -> PseudoConfig:
        if not self.low <= 0.5 <= self.high:
            raise ValueError(f"need low <= 0.5 <= high, got low {self.low}, high {self.high}")
        return self


def seeded_subset(n: int, max_images: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random ``max_images`` of ``n`` items (all of them if fewer)."""
    if max_images is None or n <= max_images:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_images, replace=False))


def confidence(probs: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per image, the fraction of pixels with p < low or p > high."""
    flat = np.asarray(probs).reshape(len(probs), -1)
    return ((flat < low) | (flat > high)).mean(axis=1)


def select_pseudo(
    ids: np.ndarray, probs: np.ndarray, blank: np.ndarray, cfg: PseudoConfig | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(kept ids, pseudo masks, counts) for test predictions; kept ids keep input order. The
    masks are bool, or float32 probabilities with ``cfg.soft``."""
    cfg = cfg or PseudoConfig()
    ids = np.asarray(ids).astype(str)
    blank = np.asarray(blank, dtype=bool)
    if not (len(ids) == len(probs) == len(blank)):
        raise ValueError(f"{len(ids)} ids, {len(probs)} maps and {len(blank)} blank flags")
    conf = confidence(probs, cfg.low, cfg.high)
    confident = (conf >= cfg.min_confidence) & ~blank
    keep = ~blank if cfg.all else confident
    candidates = np.flatnonzero(keep)
    keep = np.zeros_like(keep)
    keep[candidates[seeded_subset(len(candidates), cfg.max_images, cfg.seed)]] = True
    kept_probs = np.asarray(probs[keep], dtype=np.float32)
    hard = kept_probs > 0.5
    masks = np.clip(kept_probs, 0.0, 1.0) if cfg.soft else hard
    kept_conf = conf[keep]
    counts = {
        "total": len(ids),
        "blank": int(blank.sum()),
        "confident": int(confident.sum()),
        "kept": int(keep.sum()),
        # None (JSON null) rather than NaN when nothing is kept: NaN is not valid JSON.
        "mean_confidence": float(kept_conf.mean()) if keep.any() else None,
        "empty_fraction": (
            float((~hard.reshape(len(hard), -1).any(axis=1)).mean()) if keep.any() else None
        ),
        **cfg.to_dict(),
    }
    logger.info(
        "pseudo labels: kept %d of %d test images (%d blank, %d confident)",
        counts["kept"],
        counts["total"],
        counts["blank"],
        counts["confident"],
    )
    return ids[keep], masks, counts
