"""Run-length encoding in the competition's order: column-major, 1-indexed "start length" pairs."""

from __future__ import annotations

import numpy as np

from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError


def encode(mask: np.ndarray) -> str:
    """Encode a 2-D mask (anything > 0 is salt) as the competition's RLE string ("" when empty)."""
    flat = np.asarray(mask).T.reshape(-1) > 0  # column-major: top-to-bottom, then left-to-right
    padded = np.concatenate([[False], flat, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[0::2], edges[1::2]
    runs = np.empty(starts.size * 2, dtype=np.int64)
    runs[0::2] = starts + 1
    runs[1::2] = ends - starts
    return " ".join(map(str, runs.tolist()))


def decode(rle: str | float | None, shape: tuple[int, int] = (TILE, TILE)) -> np.ndarray:
    """Decode an RLE string to a bool mask; an empty string, a float NaN (pandas' empty cell)
    or None mean an empty mask; the text "nan" is an error (it is no RLE).

    Raises SaltsegError on malformed input: odd count, non-integers, starts < 1, lengths < 1,
    unsorted or overlapping runs, or runs past the end of the image.
    """
    h, w = shape
    mask = np.zeros(h * w, dtype=bool)
    if rle is None or (isinstance(rle, float) and np.isnan(rle)):
        return mask.reshape(w, h).T
    text = str(rle).strip()
    if not text:
        return mask.reshape(w, h).T
    if text.lower() in ("nan", "none", "null", "na"):
        raise SaltsegError(f"{text!r} is not an RLE (an empty mask is an empty field)")
    tokens = text.split()
    try:
        values = np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError:
        raise SaltsegError(f"non-integer value in RLE: {text[:40]!r}") from None
    if len(tokens) % 2:
        raise SaltsegError(f"odd number of values ({len(tokens)}) in RLE")
    starts, lengths = values[0::2], values[1::2]
    if (starts < 1).any():
        raise SaltsegError("RLE start < 1 (starts are 1-indexed)")
    if (lengths < 1).any():
        raise SaltsegError("RLE run length < 1")
    ends = starts + lengths  # exclusive, 1-indexed
    if (starts[1:] < ends[:-1]).any():
        raise SaltsegError("RLE runs are unsorted or overlapping")
    if ends[-1] - 1 > h * w:
        raise SaltsegError(f"RLE run ends at pixel {ends[-1] - 1}, past the image's {h * w} pixels")
    # Mark run boundaries and integrate: O(pixels) without a Python loop over runs.
    delta = np.zeros(h * w + 1, dtype=np.int32)
    np.add.at(delta, starts - 1, 1)
    np.add.at(delta, ends - 1, -1)
    mask = np.cumsum(delta[:-1]) > 0
    return mask.reshape(w, h).T
