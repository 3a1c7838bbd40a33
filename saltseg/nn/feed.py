"""Feed tiles to the network: augmentation per sample (uint8, 101x101), channels and geometry per
batch on the compute device.

Augmenting uint8 101x101 tiles costs a fraction of a millisecond each, so on a few CPU cores it
runs in the main process (worker processes would compete with torch's threads for the cores).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import (
    DataLoader,
    Dataset,
    RandomSampler,
    Sampler,
    WeightedRandomSampler,
    get_worker_info,
)

from saltseg.nn.augment import build_augment
from saltseg.nn.channels import build_channels
from saltseg.nn.device import Compute
from saltseg.nn.geometry import Geometry
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec


class AugmentedTiles(Dataset):
    """Training tiles: (image uint8 (101, 101), mask (101, 101), z float32), augmented; the mask is
    uint8 0/1, or float32 probabilities for soft pseudo labels."""

    def __init__(self, samples: Samples, spec: ModelSpec, seed: int):
        if samples.masks is None:
            raise ValueError("training samples need masks")
        self.images = samples.images
        self.masks = samples.masks if samples.soft else samples.masks.view(np.uint8)
        self.z = samples.z
        self.augment = build_augment(spec.augment, seed=seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray, np.float32]:
        image, mask = self.images[i], self.masks[i]
        if self.augment is not None:
            out = self.augment(image=image, mask=mask)
            image, mask = out["image"], out["mask"]
        return np.ascontiguousarray(image), np.ascontiguousarray(mask), self.z[i]


def _seed_worker(_: int) -> None:
    # Each (persistent) worker gets its own stream, derived from the loader's seed.
    info = get_worker_info()
    seed = info.seed % 2**32
    np.random.seed(seed)  # noqa: NPY002 - libraries draw from the legacy global RNG
    random.seed(seed)
    if info.dataset.augment is not None:
        info.dataset.augment.set_random_seed(seed)


def tile_weights(masks: np.ndarray, below: float, weight: float) -> np.ndarray:
    """Sampling weight per tile: ``weight`` where salt covers more than 0 and under ``below``
    (soft masks count their pixels over 0.5)."""
    coverage = (masks.reshape(len(masks), -1) >= 0.5).mean(axis=1)
    return np.where((coverage > 0) & (coverage < below), weight, 1.0)


def _sampler(samples: Samples, spec: ModelSpec, seed: int) -> Sampler:
    generator = torch.Generator().manual_seed(seed)
    small = spec.train.small_salt
    if small is None:
        return RandomSampler(range(len(samples)), generator=generator)
    weights = tile_weights(samples.masks, small.below, small.weight)
    return WeightedRandomSampler(weights.tolist(), len(samples), generator=generator)


def train_loader(samples: Samples, spec: ModelSpec, compute: Compute, seed: int) -> DataLoader:
    """Shuffled batches of augmented tiles; incomplete last batches are dropped when a full one
    exists (a tiny last batch only adds noise to the BatchNorm statistics)."""
    workers = spec.train.num_workers
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if compute.cuda else 0
    batch = min(spec.train.batch_size, len(samples))
    return DataLoader(
        AugmentedTiles(samples, spec, seed),
        batch_size=batch,
        sampler=_sampler(samples, spec, seed),
        drop_last=len(samples) > batch,
        num_workers=workers,
        worker_init_fn=_seed_worker if workers else None,
        persistent_workers=workers > 0,  # no re-forking every epoch
        pin_memory=compute.cuda,
    )


def eval_batches(
    samples: Samples, batch_size: int
) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor]]:
    """(slice, images uint8 (B, 101, 101), z (B,)) in order, without augmentation."""
    for start in range(0, len(samples), batch_size):
        sl = slice(start, min(start + batch_size, len(samples)))
        yield sl, torch.from_numpy(samples.images[sl]), torch.from_numpy(samples.z[sl])


def to_inputs(
    images: torch.Tensor, z: torch.Tensor, spec: ModelSpec, compute: Compute
) -> torch.Tensor:
    """uint8 tiles -> float (B, C, 101, 101) input channels on the device (before geometry)."""
    return build_channels(compute.to_device(images), compute.to_device(z), spec.input.channels)


def to_network(x: torch.Tensor, geometry: Geometry, compute: Compute) -> torch.Tensor:
    """Apply the geometry, in the memory format the network runs in."""
    return compute.layout(geometry.to_network(x))
