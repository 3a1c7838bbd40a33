"""Compact storage of id-indexed mask sets (pseudo labels, post-processed test masks).

Format: one ``.npz`` (no pickles) with
  ``ids``    str array (N,)
  ``shape``  int64 array [N, H, W]
and either (bool masks)
  ``packed`` uint8 array (N, ceil(H*W/8)): ``np.packbits`` of each mask flattened row-major,
or (soft masks: probabilities, as soft pseudo labels keep them)
  ``soft``   uint8 array (N, H, W): the probability in steps of 1/255 (as probability maps are
             stored, ``saltseg.io.probs.quantize``).
Bit-packing makes 18,000 masks of 101x101 about 23 MB before compression; soft masks take 8x
that, which is why bool masks stay packed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.probs import dequantize, quantize


def save_masks(path: str | os.PathLike, ids, masks: np.ndarray) -> None:
    """Save masks shaped (N, H, W) for ``ids`` (length N) atomically: bool masks bit-packed,
    float masks (probabilities in [0, 1]) as soft masks in steps of 1/255."""
    ids = np.asarray([str(i) for i in ids])
    masks = np.asarray(masks)
    if masks.ndim != 3 or len(ids) != len(masks):
        raise ValueError(f"expected {len(ids)} masks shaped (N, H, W), got {masks.shape}")
    if len(set(ids.tolist())) != len(ids):
        raise ValueError("duplicate ids in a mask set")
    shape = np.asarray(masks.shape, np.int64)
    if np.issubdtype(masks.dtype, np.floating):
        if masks.size and not (
            np.isfinite(masks).all() and masks.min() >= 0.0 and masks.max() <= 1.0
        ):
            raise ValueError("soft masks must be probabilities in [0, 1]")
        arrays = {"soft": quantize(masks)}
    else:
        # An explicit pixel count: reshape(0, -1) is ambiguous for an empty set.
        flat = masks.reshape(len(masks), int(np.prod(masks.shape[1:])))
        arrays = {"packed": np.packbits(flat > 0, axis=1)}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, ids=ids, shape=shape, **arrays)


def load_masks(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load (ids, masks (N, H, W)) saved by :func:`save_masks`: bool masks, or float32
    probabilities for a soft mask set."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            ids, shape = z["ids"], z["shape"]
            data = z["soft"] if "soft" in z.files else z["packed"]
            soft = "soft" in z.files
    except (OSError, KeyError, ValueError) as exc:
        raise SaltsegError(f"{path}: not a saltseg mask file ({exc})") from None
    n, h, w = (int(v) for v in shape)
    if len(ids) != n or data.shape[0] != n:
        raise SaltsegError(f"{path}: {len(ids)} ids but {data.shape[0]} masks (header says {n})")
    if soft:
        if data.shape[1:] != (h, w):
            raise SaltsegError(f"{path}: soft masks {data.shape[1:]} but the header says {h}x{w}")
        return ids, dequantize(data)
    masks = np.unpackbits(data, axis=1, count=h * w).astype(bool).reshape(n, h, w)
    return ids, masks
