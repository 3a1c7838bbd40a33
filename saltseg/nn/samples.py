"""The arrays a model trains on or predicts: tiles, masks and depths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError


@dataclass
class Samples:
    images: np.ndarray  # uint8 (N, 101, 101)
    masks: np.ndarray | None  # bool (N, 101, 101); None for prediction
    z: np.ndarray  # float32 (N,) depth in feet, no NaN

    def __post_init__(self) -> None:
        self.images = np.ascontiguousarray(self.images)
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.shape[1:] != (TILE, TILE):
            raise SaltsegError(
                f"samples: images must be uint8 (N, {TILE}, {TILE}), got {self.images.dtype} "
                f"{self.images.shape}"
            )
        if self.masks is not None:
            self.masks = np.ascontiguousarray(self.masks).astype(bool, copy=False)
            if self.masks.shape != self.images.shape:
                raise SaltsegError(
                    f"samples: masks {self.masks.shape} do not match images {self.images.shape}"
                )
        self.z = np.asarray(self.z, dtype=np.float32).reshape(-1)
        if len(self.z) != n:
            raise SaltsegError(f"samples: {len(self.z)} depths for {n} images")
        if not np.isfinite(self.z).all():
            raise SaltsegError(
                "samples: depths contain NaN or infinity (fill them before training)"
            )

    def __len__(self) -> int:
        return len(self.images)
