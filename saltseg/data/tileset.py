"""The prepared tile set: ``images.npy``, ``masks.npy`` and ``tiles.parquet`` in one folder.

Row ``i`` of the table (``id, split, z, coverage, blank``) describes ``images[i]`` and
``masks[i]``. ``prepare_data`` writes it once from the Kaggle layout (saltseg.data.kaggle);
every later rule reads it with :func:`load_tileset`, the one reader of a prepared set
(saltseg.data.kaggle.read_tiles takes either kind of folder).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.ids import id_rows

logger = logging.getLogger(__name__)

TILE = 101  # side of a Kaggle tile, in pixels
TABLE_COLUMNS = ["id", "split", "z", "coverage", "blank"]
FILES = ("images.npy", "masks.npy", "tiles.parquet")


@dataclass
class TileSet:
    """Tiles in one place: row ``i`` of ``table`` describes ``images[i]`` and ``masks[i]``."""

    table: pd.DataFrame
    images: np.ndarray  # uint8 (N, 101, 101)
    masks: np.ndarray  # bool (N, 101, 101); all False for test tiles
    source: str = "tile set"  # where it was read from, for error messages

    def split(self, name: str) -> TileSet:
        """The subset of one split ("train" or "test"), rows in table order."""
        keep = (self.table["split"] == name).to_numpy()
        return TileSet(
            self.table[keep].reset_index(drop=True),
            self.images[keep],
            self.masks[keep],
            self.source,
        )

    @property
    def ids(self) -> np.ndarray:
        return self.table["id"].astype(str).to_numpy()

    def rows_of(self, split: str) -> np.ndarray:
        """Row numbers of one split, in table order."""
        return np.flatnonzero((self.table["split"] == split).to_numpy())

    def test_blank(self, ids: Iterable[str]) -> np.ndarray:
        """Blank flags of test ``ids``, which must be exactly the test tiles (in any order)."""
        ids = np.asarray(list(ids)).astype(str)
        test = self.rows_of("test")
        test_ids = self.ids[test]
        known = set(ids.tolist())
        missing = [i for i in test_ids.tolist() if i not in known]
        if missing:
            raise SaltsegError(
                f"{self.source}: {len(missing)} test tile(s) have no prediction, "
                f"e.g. {missing[0]!r}"
            )
        rows, extra = id_rows(test_ids, ids)
        if extra:
            raise SaltsegError(
                f"{self.source}: {len(extra)} predicted id(s) are not test tiles, "
                + f"e.g. {extra[0]!r}"
            )
        return self.table["blank"].to_numpy(dtype=bool)[test[rows]]

    def train_masks(self, ids: Iterable[str]) -> np.ndarray:
        """Train masks of ``ids`` (bool (N, 101, 101)); every id must be a train tile."""
        train = self.rows_of("train")
        rows, missing = id_rows(self.ids[train], ids)
        if missing:
            raise SaltsegError(
                f"{self.source}: {len(missing)} id(s) are not train tiles, e.g. {missing[0]!r}"
            )
        return np.asarray(self.masks[train[rows]], dtype=bool)

    def depth_fill(self) -> float:
        """The depth of tiles without one: the median of the known depths (0 if none)."""
        z = self.table["z"].to_numpy(dtype=np.float64)
        known = ~np.isnan(z)
        return float(np.median(z[known])) if known.any() else 0.0

    def depths(self) -> np.ndarray:
        """Depths in feet with unknown values filled by :meth:`depth_fill`.

        Some redistributions ship depths for train ids only; the depth channel then sees the
        median.
        """
        z = self.table["z"].to_numpy(dtype=np.float64)
        known = ~np.isnan(z)
        if not known.all():
            fill = self.depth_fill()
            logger.warning("%d tiles without depth: using %.0f", int((~known).sum()), fill)
            z = np.where(known, z, fill)
        return z.astype(np.float32)


def blank_tiles(images: np.ndarray) -> np.ndarray:
    """True for tiles made of a single grey value (Kaggle has ~430 such test tiles)."""
    flat = np.asarray(images).reshape(len(images), -1)
    return flat.min(axis=1) == flat.max(axis=1)


def save_tileset(ts: TileSet, out_dir: str | os.PathLike) -> None:
    """Write ``images.npy``, ``masks.npy`` and ``tiles.parquet`` into ``out_dir``."""
    out_dir = Path(out_dir)
    with atomic_path(out_dir / "images.npy") as tmp:
        np.save(tmp, ts.images)
    with atomic_path(out_dir / "masks.npy") as tmp:
        np.save(tmp, ts.masks)
    with atomic_path(out_dir / "tiles.parquet") as tmp:
        ts.table[TABLE_COLUMNS].to_parquet(tmp, index=False)


def tileset_dir(path: str | os.PathLike) -> Path:
    """The tile-set folder, given the folder or its ``tiles.parquet`` (what workflow rules pass)."""
    path = Path(path)
    return path.parent if path.suffix == ".parquet" else path


def is_tileset(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a prepared tile set (its folder or its ``tiles.parquet``)."""
    return (tileset_dir(path) / "tiles.parquet").is_file()


def load_tileset(path: str | os.PathLike, mmap: bool = True) -> TileSet:
    """Load a tile set saved by :func:`save_tileset` (arrays memory-mapped by default);
    ``path`` is its folder or its ``tiles.parquet``."""
    folder = tileset_dir(path)
    mode = "r" if mmap else None
    try:
        table = pd.read_parquet(folder / "tiles.parquet")
        images = np.load(folder / "images.npy", mmap_mode=mode)
        masks = np.load(folder / "masks.npy", mmap_mode=mode)
    except (OSError, ValueError) as exc:
        raise SaltsegError(f"{folder}: not a prepared tile set ({exc})") from None
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise SaltsegError(f"{folder / 'tiles.parquet'}: missing column(s) {missing}")
    if not (len(table) == len(images) == len(masks)):
        raise SaltsegError(f"{folder}: table, images and masks have different lengths")
    return TileSet(table, images, masks, str(folder))


def summary(ts: TileSet) -> dict:
    """Counts and ranges a person checks first."""
    t = ts.table
    train = t[t["split"] == "train"]
    z = t["z"].dropna()
    return {
        "train": int(len(train)),
        "test": int((t["split"] == "test").sum()),
        "empty_fraction": float((train["coverage"] == 0).mean()) if len(train) else float("nan"),
        "mean_coverage": float(train["coverage"].mean()) if len(train) else float("nan"),
        "depth_known": int(t["z"].notna().sum()),
        "depth_min": float(z.min()) if len(z) else float("nan"),
        "depth_max": float(z.max()) if len(z) else float("nan"),
        "blank_train": int(train["blank"].sum()),
        "blank_test": int(t.loc[t["split"] == "test", "blank"].sum()),
    }
