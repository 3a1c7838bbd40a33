"""Predict new tiles with a bundle: each member's fold models averaged, the members blended
with their weights, then the run's threshold and post-processing (without the mosaic rules)."""

from __future__ import annotations

import logging
import os

import numpy as np

from saltseg.bundle.manifest import read_manifest
from saltseg.data.tileset import blank_tiles
from saltseg.nn.checkpoint import load_checkpoint
from saltseg.nn.predict import empty_unless_salt, predict_maps
from saltseg.nn.samples import Samples
from saltseg.postprocess import PostprocessConfig, postprocess

logger = logging.getLogger(__name__)


def predict_with_bundle(
    folder: str | os.PathLike,
    images: np.ndarray,
    *,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(salt probabilities float32 (N, 101, 101), final masks bool (N, 101, 101)) of uint8
    tiles ``images`` (N, 101, 101)."""
    manifest, members = read_manifest(folder)
    images = np.ascontiguousarray(images, dtype=np.uint8)
    # New tiles have no depth: the depth channel sees the training tiles' median, as tiles
    # without a depth do in the workflow.
    z = np.full(len(images), float(manifest.get("depth_fill", 0.0)), np.float32)
    samples = Samples(images, None, z)
    blended = np.zeros(images.shape, np.float32)
    for member in members:
        settings = member.predict
        folds = np.zeros(images.shape, np.float32)
        for rel in member.folds:
            ckpt = load_checkpoint(os.path.join(folder, rel))
            maps, image = predict_maps(
                ckpt, samples, device=device, threads=threads, precision=precision,
                batch_size=batch_size, snapshots=settings.get("snapshots"),
                tta=settings.get("tta"),
            )  # fmt: skip
            threshold = settings.get("classifier_threshold")
            if image is not None and isinstance(threshold, int | float):
                empty_unless_salt(maps, image, float(threshold))
            folds += maps
        blended += np.float32(member.weight / len(member.folds)) * folds
    cfg = PostprocessConfig.parse(
        {**manifest["postprocess"], "threshold": manifest["threshold"],
         "mosaic_rules": {"enabled": False}},
        "bundle postprocess",
    )  # fmt: skip
    masks, stats = postprocess(
        blended, np.arange(len(images)).astype(str), blank_tiles(images), cfg
    )
    logger.info("post-processing of %d tiles:\n%s", len(images), stats.to_string(index=False))
    return blended, masks
