"""Predict new tiles with a bundle: each member's fold models averaged, the members blended
with their weights, then the run's threshold and post-processing (without the mosaic rules)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np

from saltseg.bundle.manifest import Member, read_manifest
from saltseg.data.tileset import blank_tiles
from saltseg.nn.checkpoint import Checkpoint, load_checkpoint
from saltseg.nn.compiled import CompiledNetwork
from saltseg.nn.device import resolve_compute
from saltseg.nn.predict import empty_unless_salt, predict_maps, prepared_network
from saltseg.nn.samples import Samples
from saltseg.postprocess import PostprocessConfig, postprocess

logger = logging.getLogger(__name__)

# What a bundle without the training tiles' grey statistics (older runs) assumes: the
# synthetic generator's mid-grey and typical spread.
GREY_FALLBACK = {"mean": 128.0, "std": 32.0}


@dataclass(frozen=True)
class Bundle:
    """A bundle read once: its manifest, members and every member's loaded fold checkpoints."""

    folder: str
    manifest: dict
    members: list[Member]
    checkpoints: list[list[Checkpoint]]
    # built networks by (member, fold, device, threads, precision, compiled): a section
    # predicts many small batches, and building a network costs about 0.15 s
    networks: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])

    @property
    def depth_fill(self) -> float:
        """The depth the run gave tiles without one (the training tiles' median)."""
        return float(self.manifest.get("depth_fill", 0.0))

    @property
    def grey(self) -> dict[str, float]:
        """Mean and standard deviation of the training tiles' grey levels."""
        return dict(self.manifest.get("grey") or GREY_FALLBACK)


def load_bundle(folder: str | os.PathLike) -> Bundle:
    manifest, members = read_manifest(folder)
    ckpts = [[load_checkpoint(os.path.join(folder, rel)) for rel in m.folds] for m in members]
    return Bundle(str(folder), manifest, members, ckpts)


def bundle_probabilities(
    bundle: Bundle,
    images: np.ndarray,
    z: np.ndarray | None = None,
    *,
    device: str = "auto",
    threads: int = 2,
    precision: str = "auto",
    batch_size: int | None = None,
    progress: bool = True,
    compile: bool | None = None,
) -> np.ndarray:
    """Float32 (N, 101, 101) blended salt probabilities of uint8 tiles ``images`` (N, 101, 101)
    with depths ``z`` (N,); without depths the depth channel sees the run's fill for tiles
    without a depth. ``progress`` False: no progress bars (a caller has its own). ``compile``:
    torch.compile the networks (None: each member's ``predict.compile`` from the run)."""
    images = np.ascontiguousarray(images, dtype=np.uint8)
    if z is None:
        z = np.full(len(images), bundle.depth_fill, np.float32)
    samples = Samples(images, None, np.asarray(z, np.float32))
    blended = np.zeros(images.shape, np.float32)
    compute = resolve_compute(device, threads, precision)
    for i, (member, ckpts) in enumerate(zip(bundle.members, bundle.checkpoints, strict=True)):
        settings = member.predict
        folds = np.zeros(images.shape, np.float32)
        threshold = settings.get("classifier_threshold")
        # "oof" was bundled as one measured threshold per fold
        per_fold = threshold if isinstance(threshold, list) else [threshold] * len(ckpts)
        compiled = bool(settings.get("compile") if compile is None else compile)
        for k, (ckpt, threshold) in enumerate(zip(ckpts, per_fold, strict=True)):
            key = (i, k, device, threads, precision, compiled)
            if key not in bundle.networks:
                network = prepared_network(ckpt, compute)
                bundle.networks[key] = CompiledNetwork(network) if compiled else network
            maps, image = predict_maps(
                ckpt, samples, device=device, threads=threads, precision=precision,
                batch_size=batch_size, snapshots=settings.get("snapshots"),
                tta=settings.get("tta"), progress=progress, network=bundle.networks[key],
            )  # fmt: skip
            if image is not None and isinstance(threshold, int | float):
                empty_unless_salt(maps, image, float(threshold))
            folds += maps
        blended += np.float32(member.weight / len(ckpts)) * folds
    return blended


def tile_postprocess_config(bundle: Bundle) -> PostprocessConfig:
    """The run's threshold and per-tile post-processing (no mosaic rules: new tiles have none)."""
    return PostprocessConfig.parse(
        {**bundle.manifest["postprocess"], "threshold": bundle.threshold,
         "mosaic_rules": {"enabled": False}},
        f"{bundle.folder}: postprocess",
    )  # fmt: skip


def predict_with_bundle(
    folder: str | os.PathLike | Bundle,
    images: np.ndarray,
    **compute,
) -> tuple[np.ndarray, np.ndarray]:
    """(salt probabilities float32 (N, 101, 101), final masks bool (N, 101, 101)) of uint8
    tiles ``images`` (N, 101, 101); ``compute``: device, threads, precision, batch_size,
    compile."""
    bundle = folder if isinstance(folder, Bundle) else load_bundle(folder)
    images = np.ascontiguousarray(images, dtype=np.uint8)
    blended = bundle_probabilities(bundle, images, **compute)
    masks, stats = postprocess(
        blended, np.arange(len(images)).astype(str), blank_tiles(images),
        tile_postprocess_config(bundle),
    )  # fmt: skip
    logger.info("post-processing of %d tiles:\n%s", len(images), stats.to_string(index=False))
    return blended, masks
