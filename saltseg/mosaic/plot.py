"""Picture of the largest mosaics: assembled seismic image with train and test masks outlined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from saltseg.data.tileset import TILE, TileSet

TRAIN_COLOUR = (230, 40, 40)  # RGB: train masks red
TEST_COLOUR = (40, 200, 60)  # predicted test masks green
EMPTY_CELL = 24  # grey level of grid cells without a tile


def mosaic_canvas(
    tiles: pd.DataFrame,
    image_by_id: Mapping[str, np.ndarray],
    train_mask_by_id: Mapping[str, np.ndarray],
    test_mask_by_id: Mapping[str, np.ndarray],
    alpha: float = 0.25,
) -> np.ndarray:
    """RGB uint8 picture of one mosaic (rows of ``tiles``: id, row, col)."""
    n_rows, n_cols = int(tiles["row"].max()) + 1, int(tiles["col"].max()) + 1
    grey = np.full((n_rows * TILE, n_cols * TILE), EMPTY_CELL, np.uint8)
    train = np.zeros(grey.shape, bool)
    test = np.zeros(grey.shape, bool)
    for tid, r, c in zip(tiles["id"].astype(str), tiles["row"], tiles["col"], strict=True):
        cell = np.s_[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE]
        grey[cell] = image_by_id[tid]
        if tid in train_mask_by_id:
            train[cell] = train_mask_by_id[tid]
        elif tid in test_mask_by_id:
            test[cell] = test_mask_by_id[tid]
    rgb = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    for mask, colour in ((train, TRAIN_COLOUR), (test, TEST_COLOUR)):
        rgb[mask] = (1 - alpha) * rgb[mask] + alpha * np.asarray(colour, np.float32)
    rgb = rgb.astype(np.uint8)
    for mask, colour in ((train, TRAIN_COLOUR), (test, TEST_COLOUR)):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(rgb, contours, -1, colour, 1)
    # Faint tile grid so a person can see where the seams are.
    lines = np.zeros(grey.shape, bool)
    lines[::TILE, :] = True
    lines[:, ::TILE] = True
    rgb[lines] = (0.6 * rgb[lines] + 0.4 * 255).astype(np.uint8)
    return rgb


def _largest(
    layout: pd.DataFrame, mask_by_id: Mapping[str, np.ndarray], n: int, salt_first: bool
) -> list[int]:
    """The numbers of the ``n`` mosaics to show: by size (then number), salted ones first."""
    ids = layout["id"].astype(str)
    salted = np.array([t in mask_by_id and bool(np.any(mask_by_id[t])) for t in ids], bool)
    table = pd.DataFrame({"mosaic": layout["mosaic"].to_numpy(), "salt": salted & salt_first})
    per = table.groupby("mosaic").agg(size=("salt", "size"), salt=("salt", "any")).reset_index()
    per = per.sort_values(["salt", "size", "mosaic"], ascending=[False, False, True])
    return [int(m) for m in per["mosaic"].head(n)]


def mosaics_figure(
    layout: pd.DataFrame,
    ids: Sequence[str],
    images: np.ndarray,
    train_mask_by_id: Mapping[str, np.ndarray],
    test_mask_by_id: Mapping[str, np.ndarray],
    n: int = 4,
    salt_first: bool = True,
) -> tuple[Figure, list[int]]:
    """A figure of the ``n`` largest mosaics, and the mosaic numbers shown.

    With ``salt_first`` the mosaics with salt in a train or test mask come first, so that the
    picture shows masks (the largest real mosaics have none); then the others, largest first.
    Train masks are red, predicted test masks green (translucent fill plus outline); the tile grid
    is drawn faintly; empty grid cells are dark.
    """
    image_by_id = {str(t): images[i] for i, t in enumerate(ids)}
    shown = _largest(layout, {**test_mask_by_id, **train_mask_by_id}, n, salt_first)
    if not shown:
        raise ValueError("layout has no mosaics to plot")
    canvases, titles = [], []
    for m in shown:
        tiles = layout[layout["mosaic"] == m]
        canvases.append(mosaic_canvas(tiles, image_by_id, train_mask_by_id, test_mask_by_id))
        n_train = int(tiles["id"].astype(str).isin(train_mask_by_id.keys()).sum())
        titles.append(
            f"mosaic {m}: {len(tiles)} tiles ({n_train} train), "
            f"{tiles['row'].max() + 1}x{tiles['col'].max() + 1} grid"
        )
    # One mosaic per row, each as tall as its shape needs (wide sections stay readable).
    width = 14.0
    heights = [min(width * c.shape[0] / c.shape[1], 7.0) + 0.5 for c in canvases]
    fig = Figure(figsize=(width, sum(heights) + 0.6))
    axes = fig.subplots(len(canvases), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, canvas, title in zip(axes[:, 0], canvases, titles, strict=True):
        ax.imshow(canvas, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    legend = "red: train masks" + (", green: predicted test masks" if test_mask_by_id else "")
    fig.suptitle(legend, fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (sum(heights) + 0.6)))
    return fig, shown


def tileset_mosaics_figure(
    layout: pd.DataFrame,
    tiles: TileSet,
    test_mask_by_id: Mapping[str, np.ndarray] | None = None,
    n: int = 4,
) -> tuple[Figure, list[int]]:
    """:func:`mosaics_figure` of a tile set: its train masks in red, ``test_mask_by_id`` (e.g. a
    run's post-processed test masks) in green."""
    train = tiles.split("train")
    return mosaics_figure(
        layout,
        tiles.ids,
        np.asarray(tiles.images),
        dict(zip(train.ids, np.asarray(train.masks, bool), strict=True)),
        test_mask_by_id or {},
        n=n,
    )
