"""A section picture: its grey image with the predicted salt outlined."""

from __future__ import annotations

import cv2
import numpy as np

OUTLINE_BGR = (40, 200, 255)  # amber: visible on grey seismic


def overlay(grey: np.ndarray, mask: np.ndarray, tint: float = 0.25) -> np.ndarray:
    """BGR uint8 picture: ``grey`` (H, W) with the salt of ``mask`` tinted and outlined."""
    picture = cv2.cvtColor(np.asarray(grey, np.uint8), cv2.COLOR_GRAY2BGR)
    salt = np.asarray(mask, bool)
    colour = np.array(OUTLINE_BGR, np.float32)
    picture[salt] = ((1 - tint) * picture[salt] + tint * colour).astype(np.uint8)
    contours, _ = cv2.findContours(salt.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(picture, contours, -1, OUTLINE_BGR, 1)
    return picture
