"""Tiles from any folder, for prediction: PNG files (8- or 16-bit, grey or RGB with equal
channels; a Kaggle-layout folder's test/images), or an .npy stack (N, 101, 101)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from saltseg.data.kaggle import png_files, read_png_tiles, to_8bit
from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError
from saltseg.io.npy import read_npy

SECTION_HINT = "; for a whole section use saltseg predict-section"


def read_tile_folder(source: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(ids, uint8 images (N, 101, 101)) of ``source``; ids are file names without .png, or
    row numbers of an .npy stack. 16-bit images are scaled to 8 bits."""
    source = Path(source)
    if source.suffix.lower() == ".npy":
        stack = read_npy(source)
        if stack.ndim == 2:
            stack = stack[None]
        if stack.ndim != 3 or stack.shape[1:] != (TILE, TILE):
            raise SaltsegError(
                f"{source}: expected tiles shaped (N, {TILE}, {TILE}), got {stack.shape}"
                + SECTION_HINT
            )
        stack = to_8bit(stack)
        if stack.dtype != np.uint8:
            raise SaltsegError(f"{source}: expected uint8 or uint16 tiles, got {stack.dtype}")
        return np.array([str(i) for i in range(len(stack))]), stack
    if not source.is_dir():
        raise SaltsegError(f"{source}: no such folder or .npy file")
    folder = source / "test" / "images" if (source / "test" / "images").is_dir() else source
    files = png_files(folder)
    if not files:
        raise SaltsegError(f"{folder}: no PNG tiles")
    ids = sorted(files)
    try:
        images = read_png_tiles([files[i] for i in ids])
    except SaltsegError as exc:
        if f"expected {TILE}x{TILE} pixels" in str(exc):
            raise SaltsegError(f"{exc}{SECTION_HINT}") from None
        raise
    return np.array(ids), images
