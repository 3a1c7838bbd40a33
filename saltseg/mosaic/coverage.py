"""Which tiles a layout places, by texture, and how often their true seams would be found.

The real Kaggle tiles are of two kinds: rough ones, with fine texture at the image's own
resolution, and smooth ones whose fine-scale power is about ten times lower (they look like
magnified views). The share of a tile's horizontal power spectrum above ``FINE_FREQUENCY``
separates them: on the 22,000 real tiles its logarithm has two modes with a trough near
``SMOOTH_BELOW``. Put next to the cut test per kind (:func:`saltseg.mosaic.proxies.cut_links`),
placement tells apart the tiles a matcher misses from the tiles that have no neighbour: where
cuts are linked nearly always but few tiles are placed, the neighbours are missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saltseg.mosaic.assemble import DIRECTIONS, MosaicOptions

FINE_FREQUENCY = 0.25  # cycles per pixel
SMOOTH_BELOW = 0.0126  # 10 ** -1.9: the trough between the real tiles' two modes
FLAT_STD = MosaicOptions().min_edge_std  # grey levels under which the assembly never links
KINDS = ("smooth", "rough", "flat")


def fine_texture_share(images: np.ndarray, *, chunk: int = 2048) -> np.ndarray:
    """Per tile, the share of its power along the rows at spatial frequencies above
    ``FINE_FREQUENCY`` (the zero frequency left out); NaN for a tile whose rows are each
    constant."""
    images = np.asarray(images)
    fine = np.fft.rfftfreq(images.shape[2]) > FINE_FREQUENCY
    out = np.full(len(images), np.nan)
    for s in range(0, len(images), chunk):
        x = images[s : s + chunk].astype(np.float32)
        x -= x.mean(axis=2, keepdims=True)  # so that constant rows give no rounding noise
        power = (np.abs(np.fft.rfft(x, axis=2)) ** 2).mean(axis=1)
        total = power[:, 1:].sum(axis=1)
        # Rows that vary by a grey level give about 1,000 or more; rounding noise far below 1.
        with np.errstate(divide="ignore", invalid="ignore"):
            out[s : s + chunk] = np.where(total > 1.0, power[:, fine].sum(axis=1) / total, np.nan)
    return out


def texture_kinds(
    images: np.ndarray,
    *,
    smooth_below: float = SMOOTH_BELOW,
    flat_std: float = FLAT_STD,
    share: np.ndarray | None = None,
) -> np.ndarray:
    """Per tile: "flat" (grey standard deviation under ``flat_std``), "smooth" (fine texture share
    under ``smooth_below``, or no variation along the rows) or "rough"; ``share``: the
    tiles' :func:`fine_texture_share` where already known."""
    images = np.asarray(images)
    share = fine_texture_share(images) if share is None else np.asarray(share)
    std = np.array([tile.std() for tile in images])  # one tile at a time: no float copy of all
    kinds = np.where(share >= smooth_below, "rough", "smooth").astype(object)  # NaN: smooth
    kinds[std < flat_std] = "flat"
    return kinds


def coverage(groups: np.ndarray, placed: np.ndarray, cuts: pd.DataFrame) -> pd.DataFrame:
    """Per group of tiles (``groups``: a label per tile, ``placed``: whether the layout has the
    tile): tiles, tiles placed and their share, and the cut test's recall per orientation over
    the group's tiles among ``cuts`` (a :func:`saltseg.mosaic.proxies.cut_links` table whose
    ``row`` indexes ``groups``), with the number of cuts it rests on."""
    groups, placed = np.asarray(groups), np.asarray(placed, dtype=bool)
    if groups.shape != placed.shape:
        raise ValueError(f"{len(groups)} group labels for {len(placed)} tiles")
    tiles = pd.DataFrame({"group": groups, "placed": placed})
    table = tiles.groupby("group")["placed"].agg(tiles="size", placed="sum")
    table["placed_share"] = table["placed"] / table["tiles"]
    cut = cuts.assign(group=groups[cuts["row"].to_numpy()])
    for orient in DIRECTIONS:
        usable = cut[cut[f"{orient}_usable"]].groupby("group")[f"{orient}_linked"]
        table[f"cut_{orient}_recall"] = usable.mean()
        table[f"cut_{orient}_cuts"] = usable.size().reindex(table.index, fill_value=0)
    return table.reset_index()
