"""Salt-body geometry for synthetic sections: diapirs rising from the bottom and detached sheets.

The masks are the exact labels, so their boundaries stay hard: an "exactly vertical" flank is one
constant integer column over many rows, which is what the mosaic post-processing keys on.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from saltseg.data.tileset import TILE

FLANK_TYPES = ("vertical", "steep", "sloping", "overhang")
FLANK_PROBS = (0.4, 0.2, 0.3, 0.1)
SALT_FREE_SECTIONS = 0.08
SEAFLOOR_SECTIONS = 0.25  # sections whose top tile row shows the water column
EMPTY_TARGET = 0.39  # TGS train: 38% empty masks
FULL_LIMIT = (0.02, 0.12)
FLOOR_MARGIN = 10  # px of sediment at least between sea floor and salt


@dataclass(frozen=True)
class SaltLayout:
    """A section's geometry: the salt label mask, the part of it that pierces (and drags) the
    layers, and the sea floor."""

    mask: np.ndarray  # bool (H, W)
    diapirs: np.ndarray  # bool (H, W), subset of mask
    seafloor: np.ndarray  # float32 (W,): water above this row (0 where the section has none)


def rugosity(rng: np.random.Generator, n: int, amp: float) -> np.ndarray:
    """Irregular boundary roughness: a broad and a fine scale, so it does not look periodic."""
    broad = smooth_noise_1d(rng, n, rng.uniform(20, 70), amp)
    return broad + smooth_noise_1d(rng, n, rng.uniform(3, 8), 0.3 * amp)


def smooth_noise_1d(rng: np.random.Generator, n: int, corr: float, amp: float) -> np.ndarray:
    """Smooth 1-D noise with roughly `corr` px correlation length and std ~ `amp`."""
    knots = max(2, int(np.ceil(n / max(corr, 1.0))) + 2)
    coarse = rng.standard_normal(knots).astype(np.float32).reshape(1, -1)
    fine = cv2.resize(coarse, (n, 1), interpolation=cv2.INTER_CUBIC)[0]
    return fine * np.float32(amp)


def _flank(rng: np.random.Generator, kind: str, h: int, y_join: float) -> np.ndarray:
    """Outward horizontal offset of one flank for every row (positive = wider than the cap)."""
    y = np.arange(h, dtype=np.float32)
    below = np.maximum(y - y_join, 0.0)
    if kind == "vertical":
        # Optionally sloping at first, then exactly vertical (a constant integer column) down to
        # the bottom: whole tiles then have identical mask rows ("vertical" masks).
        y_v = y_join + rng.uniform(0, 1.2 * TILE)
        slope = rng.uniform(0.0, 0.5)
        return np.round(slope * np.minimum(below, y_v - y_join)).astype(np.float32)
    if kind == "steep":
        slope = rng.uniform(0.03, 0.25) * rng.choice([-1, 1])
        return slope * below + smooth_noise_1d(rng, h, rng.uniform(15, 60), rng.uniform(0.5, 2))
    if kind == "sloping":
        slope = rng.uniform(0.3, 1.5)
        return slope * below + smooth_noise_1d(rng, h, rng.uniform(15, 60), rng.uniform(1, 4))
    # overhang: the stem narrows below a wider head, then widens again deeper down
    depth = rng.uniform(0.5, 1.5) * TILE
    inward = rng.uniform(0.2, 0.6) * depth
    offset = np.where(below < depth, -inward * below / depth, -inward + 0.2 * (below - depth))
    return offset + smooth_noise_1d(rng, h, rng.uniform(15, 60), rng.uniform(0.5, 2))


@dataclass(frozen=True)
class Body:
    """One salt body as a boolean crop whose box is aligned to the tile grid."""

    y0: int
    x0: int
    crop: np.ndarray  # bool

    def window(self) -> tuple[slice, slice]:
        return (
            slice(self.y0, self.y0 + self.crop.shape[0]),
            slice(self.x0, self.x0 + self.crop.shape[1]),
        )


def _tile_box(y_min: float, y_max: float, x_min: float, x_max: float, h: int, w: int):
    """Clip a pixel box to the section and widen it to whole tiles: (y0, y1, x0, x1)."""
    y0 = int(np.clip(np.floor(y_min), 0, h - 1)) // TILE * TILE
    x0 = int(np.clip(np.floor(x_min), 0, w - 1)) // TILE * TILE
    y1 = min(h, -(-int(np.clip(np.ceil(y_max) + 1, 1, h)) // TILE) * TILE)
    x1 = min(w, -(-int(np.clip(np.ceil(x_max) + 1, 1, w)) // TILE) * TILE)
    return y0, y1, x0, x1


def diapir(rng: np.random.Generator, h: int, w: int, force_vertical: bool = False) -> Body | None:
    """A dome/diapir rising from the bottom edge, with a rugose cap and two independent flanks."""
    cx = rng.uniform(-0.1, 1.1) * w
    half = float(np.exp(rng.uniform(np.log(25), np.log(2.0 * TILE))))
    apex = rng.uniform(0.02, 0.9) * h
    cap_h = rng.uniform(0.15, 1.0) * half
    power = rng.uniform(1.5, 4.0)  # large power: flat-topped massif; small: pointed dome
    x = np.arange(w, dtype=np.float32)
    rel = np.abs(x - cx) / half
    top = apex + cap_h * rel**power + rugosity(rng, w, rng.uniform(1, 5))
    kinds = rng.choice(FLANK_TYPES, size=2, p=FLANK_PROBS)
    if force_vertical:
        kinds[rng.integers(2)] = "vertical"
    y_join = apex + cap_h
    left = np.floor(cx - half - _flank(rng, kinds[0], h, y_join))
    right = np.ceil(cx + half + _flank(rng, kinds[1], h, y_join))
    left, right = np.maximum(left, 0), np.minimum(right, w - 1)
    rows = np.flatnonzero(left <= right)
    if rows.size == 0:
        return None
    x_min, x_max = left[rows].min(), right[rows].max()
    y_min = max(float(top[int(x_min) : int(x_max) + 1].min()), float(rows[0]))
    y0, y1, x0, x1 = _tile_box(y_min, h - 1, x_min, x_max, h, w)
    yy = np.arange(y0, y1, dtype=np.float32)[:, None]
    xx = x[None, x0:x1]
    crop = (yy >= top[None, x0:x1]) & (xx >= left[y0:y1, None]) & (xx <= right[y0:y1, None])
    return Body(y0, x0, crop)


def sheet(rng: np.random.Generator, h: int, w: int) -> Body | None:
    """A detached salt sheet/tongue: lens-shaped, rugose top, smoother base, blunt ends."""
    cx = rng.uniform(0, w)
    half_len = rng.uniform(1.0, 5.0) * TILE
    thick = rng.uniform(0.2, 1.0) * TILE
    cy = rng.uniform(0.15, 0.85) * h
    tilt = rng.normal(0, 0.08)
    x = np.arange(w, dtype=np.float32)
    rel = np.clip(1 - ((x - cx) / half_len) ** 2, 0, None) ** rng.uniform(0.25, 0.6)
    centre = cy + tilt * (x - cx) + smooth_noise_1d(rng, w, rng.uniform(60, 200), 0.1 * thick)
    top = centre - 0.6 * thick * rel + rugosity(rng, w, rng.uniform(1, 4))
    base = centre + 0.4 * thick * rel + smooth_noise_1d(rng, w, rng.uniform(30, 90), 2.0)
    cols = np.flatnonzero((rel > 0) & (base >= top) & (base >= 0) & (top < h))
    if cols.size == 0:
        return None
    y0, y1, x0, x1 = _tile_box(top[cols].min(), base[cols].max(), cols[0], cols[-1], h, w)
    yy = np.arange(y0, y1, dtype=np.float32)[:, None]
    inside = (rel[None, x0:x1] > 0) & (yy >= top[None, x0:x1]) & (yy <= base[None, x0:x1])
    return Body(y0, x0, inside)


def seafloor(rng: np.random.Generator, w: int) -> np.ndarray:
    """Sea-floor row per column inside the top tile row, or zeros (no water in view)."""
    if rng.random() >= SEAFLOOR_SECTIONS:
        return np.zeros(w, np.float32)
    x = np.arange(w, dtype=np.float32)
    depth = rng.uniform(0.1, 0.7) * TILE + rng.normal(0, 0.02) * (x - w / 2)
    depth += smooth_noise_1d(rng, w, rng.uniform(100, 400), rng.uniform(2, 10))
    return np.clip(depth, 0, TILE - 5).astype(np.float32)


def tile_sums(mask: np.ndarray) -> np.ndarray:
    """Salt pixel count of every 101x101 tile of a tile-aligned mask."""
    h, w = mask.shape
    return mask.reshape(h // TILE, TILE, w // TILE, TILE).sum(axis=(1, 3), dtype=np.int32)


def tile_coverage(mask: np.ndarray) -> np.ndarray:
    """(rows, cols) salt coverage of every 101x101 tile of a section mask."""
    h, w = mask.shape
    return mask.reshape(h // TILE, TILE, w // TILE, TILE).mean(axis=(1, 3))


def salt_layout(
    rng: np.random.Generator, h: int, w: int, empty_target: float = EMPTY_TARGET
) -> SaltLayout:
    """Place bodies until the section's fraction of partly-salt tiles reaches a random target.

    `empty_target` is the wanted fraction of empty-labelled tiles (no salt, or all salt); the
    dataset generator steers it per section so the whole set lands near TGS's 38% although
    single sections vary a lot. Some sections are salt-free (like shallow TGS tiles, which are
    mostly empty); the first body of the others is a diapir with at least one exactly vertical
    flank. Bodies that would mostly overlap existing salt are redrawn, so shapes stay readable.
    """
    mask = np.zeros((h, w), bool)
    diapirs = np.zeros((h, w), bool)
    floor = seafloor(rng, w)
    salt_free = rng.random() < SALT_FREE_SECTIONS
    if salt_free and empty_target >= EMPTY_TARGET:
        return SaltLayout(mask, diapirs, floor)
    # targets overshoot: some tiles end up all salt (labelled empty), some bodies are rejected
    target = float(np.clip(1.02 - empty_target + rng.uniform(-0.06, 0.06), 0.1, 0.97))
    max_full = rng.uniform(*FULL_LIMIT)
    counts = np.zeros((h // TILE, w // TILE), np.int32)
    full = TILE * TILE
    placed = 0
    for _ in range(120):
        if placed and ((counts > 0) & (counts < full)).mean() >= target:
            break
        is_diapir = placed == 0 or rng.random() < 0.7
        body = diapir(rng, h, w, force_vertical=placed == 0) if is_diapir else sheet(rng, h, w)
        if body is None:
            continue
        win = body.window()
        rows = np.arange(win[0].start, win[0].stop, dtype=np.float32)[:, None]
        crop = body.crop & (rows >= floor[None, win[1]] + FLOOR_MARGIN)  # no salt in the water
        area = int(crop.sum())
        overlap = crop & mask[win]
        if area == 0 or overlap.sum() > 0.3 * area:
            continue
        added = counts.copy()
        ty, tx = body.y0 // TILE, body.x0 // TILE
        ny, nx = crop.shape[0] // TILE, crop.shape[1] // TILE
        added[ty : ty + ny, tx : tx + nx] += tile_sums(crop & ~overlap)
        n_full = int((added == full).sum())
        if n_full > max_full * counts.size and n_full > (counts == full).sum():
            continue  # too much solid salt: those tiles would all be labelled empty
        counts = added
        mask[win] |= crop
        if is_diapir:
            diapirs[win] |= crop
        placed += 1
    return SaltLayout(mask, diapirs, floor)
