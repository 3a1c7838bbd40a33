"""Read and validate a folder in the Kaggle TGS layout into a TileSet.

Layout: ``train/images/*.png``, ``train/masks/*.png``, ``test/images/*.png`` (optional),
``train.csv`` (``id,rle_mask``, optional) and ``depths.csv`` (``id,z``; may cover only train ids).
Real-file quirks handled: RGB images with three equal channels (or 8-bit grey), salt masks as
16-bit 0/65535 PNGs and empty masks as 8-bit zeros.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from saltseg import rle
from saltseg.data.tileset import TILE, TileSet, blank_tiles, is_tileset, load_tileset
from saltseg.errors import SaltsegError

logger = logging.getLogger(__name__)


def _read_png(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise SaltsegError(f"{path}: unreadable PNG")
    if data.ndim == 3:
        if data.shape[2] == 4:
            data = data[:, :, :3]
        if data.shape[2] != 3 or not (
            np.array_equal(data[:, :, 0], data[:, :, 1])
            and np.array_equal(data[:, :, 0], data[:, :, 2])
        ):
            raise SaltsegError(f"{path}: colour channels differ; expected a grey image")
        data = data[:, :, 0]
    if data.shape != (TILE, TILE):
        raise SaltsegError(
            f"{path}: expected {TILE}x{TILE} pixels, got {data.shape[0]}x{data.shape[1]}"
        )
    return data


def _read_image(path: Path) -> np.ndarray:
    data = _read_png(path)
    if data.dtype != np.uint8:
        raise SaltsegError(f"{path}: expected an 8-bit image, got {data.dtype}")
    return data


def _read_mask(path: Path) -> np.ndarray:
    data = _read_png(path)
    top = np.iinfo(data.dtype).max
    values = np.unique(data)
    if not np.isin(values, [0, top]).all():
        bad = values[~np.isin(values, [0, top])][:3].tolist()
        raise SaltsegError(f"{path}: mask values must be 0 or {top}, found {bad}")
    return data > 0


def _read_all(paths: list[Path], reader) -> np.ndarray:
    out_shape = (len(paths), TILE, TILE)
    if not paths:
        return np.zeros(out_shape, dtype=np.uint8)
    # cv2 releases the GIL while decoding, so threads decode PNGs in parallel.
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        return np.stack(list(pool.map(reader, paths, chunksize=256)))


def png_files(folder: Path) -> dict[str, Path]:
    """The PNG files of a folder by id (the file name without .png)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    found: dict[str, Path] = {}
    for p in files:
        if p.stem in found:
            raise SaltsegError(f"{p}: duplicate id {p.stem!r} (also {found[p.stem].name})")
        found[p.stem] = p
    return found


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SaltsegError(f"{path}: unreadable CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SaltsegError(f"{path}: missing column(s) {missing}; expected {','.join(columns)}")
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise SaltsegError(f"{path}: duplicate id {dup.iloc[0]!r}")
    return df


def _read_depths(path: Path) -> pd.Series:
    df = _read_csv(path, ["id", "z"])
    z = pd.to_numeric(df["z"].str.strip(), errors="coerce")
    bad = z.isna() & (df["z"].str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SaltsegError(
            f"{path}: non-numeric depth {df['z'].iloc[i]!r} for id {df['id'].iloc[i]!r}"
        )
    return pd.Series(z.to_numpy(dtype=np.float64), index=df["id"].to_numpy())


def _check_train_csv(path: Path, train_ids: list[str], masks: np.ndarray) -> None:
    df = _read_csv(path, ["id", "rle_mask"])
    known = set(train_ids)
    extra = [i for i in df["id"] if i not in known]
    if extra:
        raise SaltsegError(f"{path}: id {extra[0]!r} has no image in train/images")
    rles = dict(zip(df["id"], df["rle_mask"], strict=True))
    for i, tid in enumerate(train_ids):
        if tid not in rles:
            raise SaltsegError(f"{path}: no row for train id {tid!r}")
        try:
            decoded = rle.decode(rles[tid])
        except SaltsegError as exc:
            raise SaltsegError(f"{path}: bad RLE for id {tid!r}: {exc}") from None
        if not np.array_equal(decoded, masks[i]):
            raise SaltsegError(f"{path}: RLE for id {tid!r} disagrees with train/masks/{tid}.png")


def read_kaggle(root: str | os.PathLike) -> TileSet:
    """Read and validate a Kaggle-layout folder; SaltsegError names the file of any problem."""
    root = Path(root)
    image_dir, mask_dir = root / "train" / "images", root / "train" / "masks"
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise SaltsegError(
                f"{folder}: folder not found; expected the Kaggle layout "
                "(train/images, train/masks, optional test/images, depths.csv)"
            )
    images_by_id, masks_by_id = png_files(image_dir), png_files(mask_dir)
    no_mask = sorted(set(images_by_id) - set(masks_by_id))
    if no_mask:
        raise SaltsegError(f"{images_by_id[no_mask[0]]}: image has no mask in {mask_dir}")
    no_image = sorted(set(masks_by_id) - set(images_by_id))
    if no_image:
        raise SaltsegError(f"{masks_by_id[no_image[0]]}: mask has no image in {image_dir}")
    if not images_by_id:
        raise SaltsegError(f"{image_dir}: no PNG images")
    test_dir = root / "test" / "images"
    test_by_id = png_files(test_dir) if test_dir.is_dir() else {}
    both = sorted(set(test_by_id) & set(images_by_id))
    if both:
        raise SaltsegError(f"{test_by_id[both[0]]}: duplicate id {both[0]!r}, also in {image_dir}")

    train_ids, test_ids = sorted(images_by_id), sorted(test_by_id)
    logger.info("reading %d train and %d test tiles from %s", len(train_ids), len(test_ids), root)
    train_images = _read_all([images_by_id[i] for i in train_ids], _read_image)
    train_masks = _read_all([masks_by_id[i] for i in train_ids], _read_mask).astype(bool)
    test_images = _read_all([test_by_id[i] for i in test_ids], _read_image)

    if (root / "train.csv").is_file():
        _check_train_csv(root / "train.csv", train_ids, train_masks)
    depths_path = root / "depths.csv"
    if depths_path.is_file():
        depths = _read_depths(depths_path)
    else:
        logger.warning("%s not found: depths unknown", depths_path)
        depths = pd.Series(dtype=np.float64)

    ids = train_ids + test_ids
    images = np.concatenate([train_images, test_images])
    masks = np.concatenate([train_masks, np.zeros(test_images.shape, dtype=bool)])
    coverage = masks.reshape(len(ids), -1).mean(axis=1)
    coverage[len(train_ids) :] = np.nan
    table = pd.DataFrame(
        {
            "id": ids,
            "split": ["train"] * len(train_ids) + ["test"] * len(test_ids),
            "z": depths.reindex(ids).to_numpy(dtype=np.float64),
            "coverage": coverage,
            "blank": blank_tiles(images),
        }
    )
    return TileSet(table, images, masks, str(root))


def read_tiles(path: str | os.PathLike) -> TileSet:
    """A prepared tile set (its folder or ``tiles.parquet``) or a Kaggle-layout folder."""
    return load_tileset(path) if is_tileset(path) else read_kaggle(path)
