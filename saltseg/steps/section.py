"""``saltseg predict-section``: salt in a whole seismic section (SEG-Y line, inline or crossline
of a 3-D volume, 2-D .npy or PNG) from a model bundle, by overlapping 101x101 windows."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np

from saltseg.bundle.predict import bundle_probabilities, load_bundle
from saltseg.data.kaggle import png_header, to_8bit
from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_dir, write_json
from saltseg.io.npy import read_npy
from saltseg.postprocess import remove_small_components
from saltseg.section.columns import apply_column_rules
from saltseg.section.grey import to_grey
from saltseg.section.overlay import overlay
from saltseg.section.segy import SeismicLine, read_segy_line, write_segy_like, write_segy_line
from saltseg.section.window import predict_section
from saltseg.synth.generate import synth_section

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike
MAX_PIXELS = 400_000_000  # a PNG section larger than this is refused before decoding


def _read_png_section(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as fh:
            height, width, _, _ = png_header(path, fh.read(33))
    except OSError as exc:
        raise SaltsegError(f"{path}: unreadable ({exc.strerror or exc})") from None
    if height * width > MAX_PIXELS:
        raise SaltsegError(f"{path}: {height}x{width} pixels; at most {MAX_PIXELS:,} are read")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SaltsegError(f"{path}: unreadable PNG (truncated or corrupt data)")
    if image.ndim == 3:
        image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    return to_8bit(image)


def _read_truth(path: PathLike, shape: tuple[int, int]) -> np.ndarray:
    salt = read_npy(path)
    if salt.shape != shape:
        raise SaltsegError(f"{path}: truth is {salt.shape}, the section {shape}")
    return salt.astype(bool)


def synth_section_files(out_dir: PathLike, seed: int = 0, rows: int = 6, cols: int = 21) -> dict:
    """A synthetic section to try ``predict-section`` on, in the new folder ``out_dir``:
    ``section.sgy`` (a 2-D line; amplitude = grey - 128, as the generator renders grey),
    ``salt.npy`` (its truth), ``section.png`` and ``section.json`` (its depths)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise SaltsegError(f"{out_dir}: exists and is not empty; choose a new folder")
    section = synth_section(seed, rows, cols)
    info = {
        "seed": seed,
        "shape": list(section.image.shape),
        "depth_top": section.z_top,
        "depth_step": section.z_step,
        "salt_fraction": round(float(section.salt.mean()), 4),
    }
    with atomic_dir(out_dir) as tmp:
        write_segy_line(section.image.astype(np.float32) - 128.0, tmp / "section.sgy")
        np.save(tmp / "salt.npy", section.salt)
        if not cv2.imwrite(str(tmp / "section.png"), overlay(section.image, section.salt)):
            raise SaltsegError(f"{out_dir}: could not write section.png")
        write_json(tmp / "section.json", info, sort_keys=False)
    return info


def read_section(
    source: PathLike, inline: int | None = None, crossline: int | None = None
) -> tuple[np.ndarray, SeismicLine | None]:
    """(the section: uint8 grey (PNG, uint8/uint16 .npy) or float amplitudes (SEG-Y, float
    .npy), shaped (samples, traces); the SEG-Y line it came from, or None)."""
    source = Path(source)
    suffix = source.suffix.lower()
    if suffix in (".npy", ".png") and (inline is not None or crossline is not None):
        raise SaltsegError(f"{source}: --inline/--crossline are for SEG-Y volumes")
    if suffix == ".png":
        if not source.is_file():
            raise SaltsegError(f"{source}: file not found")
        return _read_png_section(source), None
    if suffix == ".npy":
        values = read_npy(source)
        if values.ndim != 2:
            raise SaltsegError(f"{source}: expected a 2-D section (samples, traces), got "
                               f"{values.shape}")  # fmt: skip
        if values.dtype.kind not in "uif":
            raise SaltsegError(f"{source}: expected numbers, got {values.dtype}")
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise SaltsegError(f"{source}: holds NaN or infinite values")
        return (to_8bit(values) if values.dtype == np.uint16 else values), None
    line = read_segy_line(source, inline, crossline)
    return line.values, line


def predict_section_file(
    bundle: PathLike,
    source: PathLike,
    out_dir: PathLike,
    *,
    inline: int | None = None,
    crossline: int | None = None,
    stride: int = TILE // 2,
    clip_percentile: float | None = None,
    depth_top: float | None = None,
    depth_step: float | None = None,
    batch_windows: int = 64,
    column_rules: bool = False,
    truth: PathLike | None = None,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
) -> dict:
    """Predict the section ``source`` into the new folder ``out_dir``: ``probability.npy``
    (float32), ``mask.npy`` (bool), ``overlay.png``, ``mask.sgy`` for SEG-Y input (the input's
    headers, mask 0/1 as IEEE floats) and ``summary.json``. Pixel rows lie at depth
    ``depth_top + row * depth_step`` (TGS z units); without them, at the run's fill depth.
    ``column_rules``: the mosaic rules along the section's columns
    (:func:`saltseg.section.columns.apply_column_rules`). With ``truth`` (a bool .npy of the
    section's salt), the summary holds the mask's IoU."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise SaltsegError(f"{out_dir}: exists and is not empty; choose a new folder")
    if not 1 <= stride <= TILE:
        raise SaltsegError(f"--stride must be in 1..{TILE}, got {stride}")
    if clip_percentile is not None and not 0 <= clip_percentile < 50:
        raise SaltsegError(f"--clip-percentile must be in [0, 50), got {clip_percentile}")
    if batch_windows < 1:
        raise SaltsegError(f"--batch-windows must be at least 1, got {batch_windows}")
    if (depth_top is None) != (depth_step is None):
        raise SaltsegError("give both --depth-top and --depth-step, or neither")
    values, line = read_section(source, inline, crossline)
    h, w = values.shape
    if h < TILE or w < TILE:
        raise SaltsegError(f"{source}: a section needs at least {TILE}x{TILE} samples x traces, "
                           f"got {h}x{w}")  # fmt: skip
    salt = _read_truth(truth, (h, w)) if truth is not None else None
    model = load_bundle(bundle)
    if values.dtype == np.uint8:
        grey = values  # already a grey image
    else:
        grey = to_grey(values, **model.grey, clip_percentile=clip_percentile)
    if depth_top is None:
        depth = np.full(h, model.depth_fill, np.float32)
    else:
        depth = (depth_top + depth_step * np.arange(h)).astype(np.float32)

    def predictor(windows: np.ndarray, z: np.ndarray) -> np.ndarray:
        return bundle_probabilities(
            model, windows, z, device=device, threads=threads, precision=precision,
            progress=False,
        )  # fmt: skip

    prob = predict_section(grey, depth, predictor, stride=stride, batch_windows=batch_windows)
    mask = prob > model.threshold
    min_size = int(model.manifest["postprocess"].get("min_component", 0))
    if min_size:
        cleaned, _ = remove_small_components(mask[None], min_size)
        mask = cleaned[0]
    changed = None
    if column_rules:
        mask, changed = apply_column_rules(prob, mask)
    seconds = time.perf_counter() - started
    summary = {
        "source": str(source),
        "line": line.what if line is not None else "section",
        "shape": [h, w],
        "stride": stride,
        "threshold": model.threshold,
        "min_component": min_size,
        "salt_fraction": round(float(mask.mean()), 4),
        "seconds": round(seconds, 1),
    }
    if changed is not None:
        summary["column_rules"] = changed
    if salt is not None:
        union = int((mask | salt).sum())
        summary["iou"] = round(int((mask & salt).sum()) / union, 4) if union else 1.0
    with atomic_dir(out_dir) as tmp:
        np.save(tmp / "probability.npy", prob)
        np.save(tmp / "mask.npy", mask)
        if not cv2.imwrite(str(tmp / "overlay.png"), overlay(grey, mask)):
            raise SaltsegError(f"{out_dir}: could not write overlay.png")
        if line is not None:
            write_segy_like(line, mask.astype(np.float32), tmp / "mask.sgy")
        write_json(tmp / "summary.json", summary, sort_keys=False)
    logger.info("section %s: %s", source, summary)
    return summary
