"""Compact storage of probability maps: uint8 (p * 255) with an id index, in one .npz file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path


def quantize(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] to uint8; 0.5 maps to 128 so "p > 0.5" survives the round trip."""
    return np.clip(np.rint(np.asarray(probs, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def dequantize(q: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) / 255.0


def save_probs(
    path: str | os.PathLike, ids, probs: np.ndarray, classifier_threshold: float | None = None
) -> None:
    """Save probabilities shaped (N, H, W) for ``ids`` (length N) atomically, with the image-head
    threshold that emptied some of them (a fold's measured "oof" one), if any."""
    ids = np.asarray([str(i) for i in ids])
    probs = np.asarray(probs)
    if probs.ndim != 3 or len(ids) != len(probs):
        raise ValueError(f"expected {len(ids)} maps shaped (N, H, W), got {probs.shape}")
    extra = {} if classifier_threshold is None else {"classifier_threshold": classifier_threshold}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=ids, probs=quantize(probs), **extra)


def read_classifier_threshold(path: str | os.PathLike) -> float | None:
    """The image-head threshold saved with the probabilities of ``path``, or None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return float(z["classifier_threshold"]) if "classifier_threshold" in z else None
    except (OSError, ValueError) as exc:
        raise SaltsegError(f"{path}: not a saltseg probability file ({exc})") from None


def load_probs(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load (ids, float32 probabilities) saved by :func:`save_probs` (uint8), or saved unquantized
    in the same two arrays (benchmarks/recipe_fold.py's ``--save-maps``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            ids, probs = z["ids"], z["probs"]
            return ids, dequantize(probs) if probs.dtype == np.uint8 else probs.astype(np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise SaltsegError(f"{path}: not a saltseg probability file ({exc})") from None
