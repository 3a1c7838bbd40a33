"""The arrays a model trains on or predicts: tiles, masks and depths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError


@dataclass
class Samples:
    images: np.ndarray  # uint8 (N, 101, 101)
    # bool (N, 101, 101), or float32 probabilities for soft pseudo labels; None for prediction
    masks: np.ndarray | None
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
            self.masks = np.ascontiguousarray(self.masks)
            if np.issubdtype(self.masks.dtype, np.floating):
                self.masks = self.masks.astype(np.float32, copy=False)
                if len(self.masks) and not (self.masks.min() >= 0.0 and self.masks.max() <= 1.0):
                    raise SaltsegError("samples: soft masks must be probabilities in [0, 1]")
            else:
                self.masks = self.masks.astype(bool, copy=False)
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

    @property
    def soft(self) -> bool:
        """Whether the masks are probabilities (soft pseudo labels) rather than bool."""
        return self.masks is not None and self.masks.dtype != bool
