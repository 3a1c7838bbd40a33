"""Training augmentation: an albumentations pipeline on uint8 101x101 image + mask.

Horizontal flip, brightness/contrast and shift-scale(-rotate) with reflected borders. Never a
vertical flip: salt bodies and sediment layering have a physical up and down.
"""

from __future__ import annotations

import albumentations as A
import cv2

from saltseg.nn.spec import AugmentSpec


def build_augment(spec: AugmentSpec, seed: int | None = None) -> A.Compose | None:
    """The albumentations Compose for ``spec``; None when it would do nothing."""
    transforms: list[A.BasicTransform] = []
    if spec.hflip > 0:
        transforms.append(A.HorizontalFlip(p=spec.hflip))
    if spec.brightness > 0 or spec.contrast > 0:
        transforms.append(
            A.RandomBrightnessContrast(
                brightness_limit=spec.brightness, contrast_limit=spec.contrast, p=0.5
            )
        )
    ss = spec.shift_scale
    if ss is not None and ss.p > 0 and (ss.shift > 0 or ss.scale > 0 or ss.rotate > 0):
        transforms.append(
            A.Affine(
                translate_percent=(-ss.shift, ss.shift),
                scale=(1.0 - ss.scale, 1.0 + ss.scale),
                keep_ratio=True,
                rotate=(-ss.rotate, ss.rotate),
                interpolation=cv2.INTER_LINEAR,
                mask_interpolation=cv2.INTER_NEAREST,
                border_mode=cv2.BORDER_REFLECT_101,
                p=ss.p,
            )
        )
    if not transforms:
        return None
    # Shape checks cost more than the transforms at 101x101; inputs are validated upstream.
    return A.Compose(transforms, is_check_shapes=False, seed=seed)
