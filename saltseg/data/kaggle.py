"""Read and validate a folder in the Kaggle TGS layout into a TileSet.

Layout: ``train/images/*.png``, ``train/masks/*.png``, ``test/images/*.png`` (optional),
``train.csv`` (``id,rle_mask``, optional) and ``depths.csv`` (``id,z``; may cover only train ids).
Real-file quirks handled: RGB images with three equal channels (or 8-bit grey), salt masks as
16-bit 0/65535 PNGs and empty masks as 8-bit zeros. A PNG's header (size, bit depth, colour
type) is checked before it is decoded, so a small file declaring a huge image costs nothing;
macOS "._*.png" AppleDouble files are skipped with a note.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from saltseg import rle
from saltseg.data.tileset import TILE, TileSet, blank_tiles, is_tileset, load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.csvfile import read_id_csv

logger = logging.getLogger(__name__)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}


def _not_png(data: bytes) -> str:
    """What a file that is not a PNG looks like, for the error message."""
    if not data:
        return "empty file, not a PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG data, not a PNG"
    if data.startswith((b"GIF8", b"BM", b"II*\x00", b"MM\x00*")):
        return "an image in another format, not a PNG"
    return "not a PNG file"


def png_header(path: Path, data: bytes) -> tuple[int, int, int, int]:
    """(height, width, bit depth, colour type) from a PNG's IHDR chunk; SaltsegError otherwise."""
    if not data.startswith(PNG_SIGNATURE):
        raise SaltsegError(f"{path}: {_not_png(data)}")
    if len(data) < 29 or data[12:16] != b"IHDR":
        raise SaltsegError(f"{path}: truncated or corrupt PNG (no header chunk)")
    width, height = struct.unpack(">II", data[16:24])
    return height, width, data[24], data[25]


def _read_png(path: Path, bit_depths: tuple[int, ...]) -> np.ndarray:
    try:
        with open(path, "rb") as fh:
            head = fh.read(33)  # signature + IHDR: checked before reading the rest
            height, width, depth, colour = png_header(path, head)
            data = head + fh.read()
    except OSError as exc:
        raise SaltsegError(f"{path}: unreadable ({exc.strerror or exc})") from None
    # Checked before decoding: a few hundred bytes can declare gigabytes of pixels.
    if (height, width) != (TILE, TILE):
        raise SaltsegError(f"{path}: expected {TILE}x{TILE} pixels, got {height}x{width}")
    if colour not in _COLOUR_TYPES:
        raise SaltsegError(f"{path}: corrupt PNG header (colour type {colour})")
    # Palette images and 1/2/4-bit grey ones (PIL writes bool masks so) decode to 8 bits.
    if depth not in bit_depths and colour != 3 and not (colour == 0 and depth < 8):
        kinds = " or ".join(f"{d}-bit" for d in bit_depths)
        raise SaltsegError(f"{path}: expected {kinds} pixels, got {depth}-bit")
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise SaltsegError(f"{path}: unreadable PNG (truncated or corrupt data)")
    if decoded.ndim == 3:
        if decoded.shape[2] == 4:
            decoded = decoded[:, :, :3]
        if decoded.shape[2] != 3 or not (
            np.array_equal(decoded[:, :, 0], decoded[:, :, 1])
            and np.array_equal(decoded[:, :, 0], decoded[:, :, 2])
        ):
            raise SaltsegError(f"{path}: colour channels differ; expected a grey image")
        decoded = decoded[:, :, 0]
    return decoded


def _read_image(path: Path) -> np.ndarray:
    return _read_png(path, (8,))


def to_8bit(tiles: np.ndarray) -> np.ndarray:
    """uint16 tiles scaled to uint8 (the top byte); other tiles as they are."""
    return (tiles >> 8).astype(np.uint8) if tiles.dtype == np.uint16 else tiles


def _read_any_image(path: Path) -> np.ndarray:
    """An 8- or 16-bit tile (16 bits scaled to 8): what prediction accepts from users."""
    return to_8bit(_read_png(path, (8, 16)))


def read_png_tiles(paths: list[Path]) -> np.ndarray:
    """uint8 tiles (N, 101, 101) of 8- or 16-bit PNGs, each checked as the reader checks."""
    return _read_all(paths, _read_any_image)


def _read_mask(path: Path) -> np.ndarray:
    data = _read_png(path, (8, 16))
    top = np.iinfo(data.dtype).max
    values = np.unique(data)
    if not np.isin(values, [0, top]).all():
        bad = values[~np.isin(values, [0, top])][:3].tolist()
        raise SaltsegError(f"{path}: mask values must be 0 or {top}, found {bad}")
    return data > 0


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV's own warnings off: a bad file gets saltseg's one line, not a second one."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def _read_all(paths: list[Path], reader) -> np.ndarray:
    if not paths:
        return np.zeros((0, TILE, TILE), dtype=np.uint8)
    # cv2 releases the GIL while decoding, so threads decode PNGs in parallel, one per core
    # (more only added lock traffic). Each task reads a run of files straight into the result:
    # a future per file and stacking the tiles afterwards cost about a third of the time of
    # reading the 22,000 real tiles. Runs are taken in order, so the first bad file is named.
    workers = min(8, os.cpu_count() or 1)
    size = max(16, min(256, -(-len(paths) // (4 * workers))))
    with _quiet_opencv():
        first = reader(paths[0])
        out = np.empty((len(paths), *first.shape), dtype=first.dtype)
        out[0] = first

        def read_run(start: int) -> None:
            for i in range(start, min(start + size, len(paths))):
                out[i] = reader(paths[i])

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(read_run, range(1, len(paths), size)))
    return out


def is_tile_png(path: Path) -> bool:
    """A PNG that is a tile: not a macOS AppleDouble file ("._<name>.png", metadata written next
    to files copied from a Mac)."""
    return path.suffix.lower() == ".png" and not path.name.startswith("._")


def png_files(folder: Path) -> dict[str, Path]:
    """The tile PNGs of a folder by id (the file name without .png); AppleDouble files are
    skipped with a note (:func:`is_tile_png`)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise SaltsegError(f"{folder}: unreadable folder ({exc.strerror or exc})") from None
    files = [p for p in entries if is_tile_png(p)]
    apple = [p for p in entries if p.suffix.lower() == ".png" and not is_tile_png(p)]
    if apple:
        logger.warning(
            "%s: skipped %d macOS metadata file(s) (._*.png, e.g. %s)", folder, len(apple),
            apple[0].name,
        )  # fmt: skip
    found: dict[str, Path] = {}
    for p in files:
        if p.stem in found:
            raise SaltsegError(f"{p}: duplicate id {p.stem!r} (also {found[p.stem].name})")
        found[p.stem] = p
    return found


def _read_depths(path: Path) -> pd.Series:
    df = read_id_csv(path, ["id", "z"])
    text = df["z"].str.strip()
    z = pd.to_numeric(text, errors="coerce")
    bad = (z.isna() & (text != "")) | np.isinf(z) | (z < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = (
            "non-numeric"
            if np.isnan(z.iloc[i])
            else "non-finite"
            if np.isinf(z.iloc[i])
            else "negative"
        )
        raise SaltsegError(f"{path}: {what} depth {df['z'].iloc[i]!r} for id {df['id'].iloc[i]!r}")
    return pd.Series(z.to_numpy(dtype=np.float64), index=df["id"].to_numpy())


def _check_depth_ids(path: Path, depths: pd.Series, ids: list[str]) -> None:
    """Warn about tiles without a depth (they get the median) and depths of no tile."""
    known = depths.dropna().index
    without = [i for i in ids if i not in known]
    if without:
        logger.warning(
            "%s: no depth for %d of %d tiles (e.g. %r); they get the median depth",
            path, len(without), len(ids), without[0],
        )  # fmt: skip
    unused = depths.index.difference(ids)
    if len(unused):
        logger.warning("%s: %d id(s) match no tile (e.g. %r)", path, len(unused), unused[0])


def _optional_file(path: Path) -> bool:
    """Whether an optional file is there; something else under its name is an error."""
    if path.is_file():
        return True
    if os.path.lexists(path):
        kind = "a folder" if path.is_dir() else "a broken link or a link loop"
        raise SaltsegError(f"{path}: {kind}, not a file")
    return False


def _check_train_csv(path: Path, train_ids: list[str], masks: np.ndarray) -> None:
    df = read_id_csv(path, ["id", "rle_mask"])
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
    if os.path.lexists(test_dir) and not test_dir.is_dir():
        raise SaltsegError(f"{test_dir}: not a folder (a file, a broken link or a link loop)")
    test_by_id = png_files(test_dir) if test_dir.is_dir() else {}
    both = sorted(set(test_by_id) & set(images_by_id))
    if both:
        raise SaltsegError(f"{test_by_id[both[0]]}: duplicate id {both[0]!r}, also in {image_dir}")

    train_ids, test_ids = sorted(images_by_id), sorted(test_by_id)
    logger.info("reading %d train and %d test tiles from %s", len(train_ids), len(test_ids), root)
    ids = train_ids + test_ids
    image_paths = [images_by_id[i] for i in train_ids] + [test_by_id[i] for i in test_ids]
    images = _read_all(image_paths, _read_image)
    masks = np.zeros(images.shape, dtype=bool)
    masks[: len(train_ids)] = _read_all([masks_by_id[i] for i in train_ids], _read_mask)

    if _optional_file(root / "train.csv"):
        _check_train_csv(root / "train.csv", train_ids, masks[: len(train_ids)])
    depths_path = root / "depths.csv"
    if _optional_file(depths_path):
        depths = _read_depths(depths_path)
        _check_depth_ids(depths_path, depths, ids)
    else:
        logger.warning("%s not found: depths unknown", depths_path)
        depths = pd.Series(dtype=np.float64)

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
