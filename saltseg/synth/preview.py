"""Preview images of a synthetic set: a contact sheet of tiles and whole sections, salt outlined."""

from __future__ import annotations

import cv2
import numpy as np

OUTLINE = (0, 255, 0)  # BGR green
GRID = (160, 90, 40)  # BGR muted blue


def outlined(image: np.ndarray, mask: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """BGR copy of a grey image (resized by `scale`) with the mask's outline drawn on it."""
    h, w = image.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey = cv2.resize(
        image, size, interpolation=cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
    )
    small = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    contours, _ = cv2.findContours(small, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(bgr, contours, -1, OUTLINE, 1)
    return bgr


def contact_sheet(
    images: list[np.ndarray], masks: list[np.ndarray], cols: int = 8, scale: int = 2
) -> np.ndarray:
    """Grid of tiles (upscaled `scale` times) with label outlines and 2-px white gaps."""
    cells = [
        cv2.copyMakeBorder(
            outlined(im, m, scale), 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(255,) * 3
        )
        for im, m in zip(images, masks, strict=True)
    ]
    if not cells:
        return np.full((8, 8, 3), 255, np.uint8)
    blank = np.full_like(cells[0], 255)
    cells += [blank] * (-len(cells) % cols)
    return np.vstack([np.hstack(cells[i : i + cols]) for i in range(0, len(cells), cols)])


def sections_sheet(
    images: list[np.ndarray], masks: list[np.ndarray], tile: int, max_width: int = 1600
) -> np.ndarray:
    """Whole sections stacked vertically, salt outlined, the tile grid drawn faintly."""
    parts = []
    for image, mask in zip(images, masks, strict=True):
        h, w = image.shape
        scale = min(1.0, max_width / w)
        bgr = outlined(image, mask, scale)
        for y in range(tile, h, tile):
            cv2.line(bgr, (0, round(y * scale)), (bgr.shape[1], round(y * scale)), GRID, 1)
        for x in range(tile, w, tile):
            cv2.line(bgr, (round(x * scale), 0), (round(x * scale), bgr.shape[0]), GRID, 1)
        parts.append(cv2.copyMakeBorder(bgr, 0, 6, 0, 0, cv2.BORDER_CONSTANT, value=(255,) * 3))
    return np.vstack(parts)
