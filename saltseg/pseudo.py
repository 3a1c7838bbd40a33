"""Pseudo labels: confident ensemble test predictions turned into training masks.

Confidence of an image = fraction of its pixels with p < ``low`` or p > ``high``; the pseudo mask
is p > 0.5. Kept: non-blank images with confidence >= ``min_confidence`` (or every non-blank
image with ``include_all``, as stage 3 does), at most ``max_images`` of them, most confident first.

Outputs: the labels as a mask set (saltseg.masks_io: ``.npz`` with ``ids``, ``shape``, bit-packed
``packed``; kept ids in test-prediction order) and a counts JSON with keys ``total, blank,
confident, kept, mean_confidence, empty_fraction`` plus the parameters used.
``tiles_dir`` is the prepared tile-set folder (saltseg.data.save_tileset) or its tiles.parquet.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass

import numpy as np

from saltseg.atomic import write_json
from saltseg.errors import SaltsegError
from saltseg.ids import id_rows
from saltseg.masks_io import load_masks, save_masks
from saltseg.probs import load_probs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PseudoConfig:
    low: float = 0.2
    high: float = 0.8
    min_confidence: float = 0.9
    include_all: bool = False  # every non-blank image, whatever its confidence
    max_images: int | None = None  # keep the most confident ones first

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= 0.5 <= self.high <= 1.0:
            raise SaltsegError(f"pseudo labels: need 0 <= low <= 0.5 <= high <= 1, got {self}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise SaltsegError(
                f"pseudo labels: min_confidence must be in [0, 1], got {self.min_confidence}"
            )
        if self.max_images is not None and self.max_images < 0:
            raise SaltsegError(f"pseudo labels: max_images must be >= 0, got {self.max_images}")


def confidence(probs: np.ndarray, low: float = 0.2, high: float = 0.8) -> np.ndarray:
    """Per image, the fraction of pixels with p < low or p > high."""
    flat = np.asarray(probs).reshape(len(probs), -1)
    return ((flat < low) | (flat > high)).mean(axis=1)


def select_pseudo(
    ids: np.ndarray, probs: np.ndarray, blank: np.ndarray, cfg: PseudoConfig = PseudoConfig()
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(kept ids, pseudo masks bool, counts) for test predictions; kept ids keep input order."""
    ids = np.asarray(ids).astype(str)
    blank = np.asarray(blank, dtype=bool)
    if not (len(ids) == len(probs) == len(blank)):
        raise ValueError(f"{len(ids)} ids, {len(probs)} maps and {len(blank)} blank flags")
    conf = confidence(probs, cfg.low, cfg.high)
    confident = (conf >= cfg.min_confidence) & ~blank
    keep = ~blank if cfg.include_all else confident
    if cfg.max_images is not None and keep.sum() > cfg.max_images:
        candidates = np.flatnonzero(keep)
        # Stable sort: equally confident images keep their input order.
        best = candidates[np.argsort(-conf[candidates], kind="stable")[: cfg.max_images]]
        keep = np.zeros_like(keep)
        keep[best] = True
    masks = np.asarray(probs[keep]) > 0.5
    kept_conf = conf[keep]
    counts = {
        "total": len(ids),
        "blank": int(blank.sum()),
        "confident": int(confident.sum()),
        "kept": int(keep.sum()),
        # None (JSON null) rather than NaN when nothing is kept: NaN is not valid JSON.
        "mean_confidence": float(kept_conf.mean()) if keep.any() else None,
        "empty_fraction": (
            float((~masks.reshape(len(masks), -1).any(axis=1)).mean()) if keep.any() else None
        ),
        **asdict(cfg),
    }
    logger.info(
        "pseudo labels: kept %d of %d test images (%d blank, %d confident)",
        counts["kept"],
        counts["total"],
        counts["blank"],
        counts["confident"],
    )
    return ids[keep], masks, counts


def blank_of_test_ids(tiles_dir: str | os.PathLike, ids: np.ndarray) -> np.ndarray:
    """Blank flags for test ``ids`` from a tile set; every test tile must be predicted."""
    from saltseg.folds import read_tile_table

    table = read_tile_table(tiles_dir)
    test = table[table["split"] == "test"]
    test_ids = test["id"].astype(str).tolist()
    known = set(ids.tolist())
    missing = [i for i in test_ids if i not in known]
    if missing:
        raise SaltsegError(
            f"{tiles_dir}: {len(missing)} test tile(s) have no prediction, e.g. {missing[0]!r}"
        )
    rows, extra = id_rows(test_ids, ids)
    if extra:
        raise SaltsegError(
            f"{tiles_dir}: {len(extra)} predicted id(s) are not test tiles, e.g. {extra[0]!r}"
        )
    return test["blank"].to_numpy(dtype=bool)[rows]


def make_pseudo_labels(
    test_probs_path: str | os.PathLike,
    tiles_dir: str | os.PathLike,
    out_labels: str | os.PathLike,
    out_counts: str | os.PathLike,
    low: float = 0.2,
    high: float = 0.8,
    min_confidence: float = 0.9,
    include_all: bool = False,
    max_images: int | None = None,
) -> dict:
    """Select pseudo labels from a test probability file; write the mask set and counts JSON."""
    cfg = PseudoConfig(low, high, min_confidence, include_all, max_images)
    ids, probs = load_probs(test_probs_path)
    ids = ids.astype(str)
    blank = blank_of_test_ids(tiles_dir, ids)
    kept, masks, counts = select_pseudo(ids, probs, blank, cfg)
    save_masks(out_labels, kept, masks)
    write_json(out_counts, counts, sort_keys=False)  # the report's column order
    return counts


def load_pseudo_labels(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(ids, bool masks (N, 101, 101)) written by :func:`make_pseudo_labels`."""
    return load_masks(path)
