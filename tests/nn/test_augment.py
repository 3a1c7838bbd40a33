"""Augmentation keeps image and mask aligned and never flips vertically."""

from __future__ import annotations

import numpy as np

from saltseg.nn.augment import build_augment
from saltseg.nn.spec import AugmentSpec, ShiftScaleSpec


def test_mask_stays_aligned_with_the_image():
    aug = build_augment(AugmentSpec(shift_scale=ShiftScaleSpec(p=1.0, rotate=10)), seed=0)
    mask = np.zeros((101, 101), np.uint8)
    mask[45:, 20:60] = 1
    image = (mask * 200 + 20).astype(np.uint8)
    changed = 0
    for _ in range(30):
        out = aug(image=image, mask=mask)
        img, m = out["image"], out["mask"]
        assert img.shape == (101, 101) and img.dtype == np.uint8
        assert set(np.unique(m)) <= {0, 1}
        changed += not np.array_equal(m, mask)
        # Brightness/contrast move grey values but keep salt brighter than the rest.
        agree = ((img > img.mean()) == (m > 0)).mean()
        assert agree > 0.97
    assert changed > 10


def test_never_flips_vertically_but_does_flip_horizontally():
    aug = build_augment(AugmentSpec(), seed=1)
    image = np.zeros((101, 101), np.uint8)
    image[:30, :20] = 255  # a bright block in the top-left corner
    mask = (image > 0).astype(np.uint8)
    left = 0
    for _ in range(60):
        m = aug(image=image, mask=mask)["mask"]
        rows = np.flatnonzero(m.any(axis=1))
        assert rows.max() < 50  # salt stays at the top
        left += m[:, :50].sum() > m[:, 51:].sum()
    assert 10 < left < 50  # hflip happens about half the time


def test_nothing_to_do_gives_none():
    spec = AugmentSpec(hflip=0.0, brightness=0.0, contrast=0.0, shift_scale=None)
    assert build_augment(spec) is None


def test_seeded_augmentation_is_reproducible():
    image = np.random.default_rng(0).integers(0, 256, (101, 101), dtype=np.uint8)
    mask = np.zeros((101, 101), np.uint8)
    a, b = build_augment(AugmentSpec(), seed=5), build_augment(AugmentSpec(), seed=5)
    for _ in range(5):
        assert np.array_equal(
            a(image=image, mask=mask)["image"], b(image=image, mask=mask)["image"]
        )
