import numpy as np
import pytest

from saltseg import rle
from saltseg.errors import SaltsegError


def test_round_trip_random_masks():
    rng = np.random.default_rng(1)
    for density in (0.0, 0.01, 0.3, 0.7, 1.0):
        for _ in range(20):
            mask = rng.random((101, 101)) < density
            assert np.array_equal(rle.decode(rle.encode(mask)), mask)


def test_first_column_full_is_1_101():
    mask = np.zeros((101, 101), bool)
    mask[:, 0] = True
    assert rle.encode(mask) == "1 101"
    assert np.array_equal(rle.decode("1 101"), mask)


def test_column_major_order_and_one_indexing():
    mask = np.zeros((101, 101), bool)
    mask[0, 1] = True  # first pixel of the second column
    mask[100, 100] = True  # the very last pixel
    assert rle.encode(mask) == "102 1 10201 1"


def test_empty_mask_is_empty_string():
    assert rle.encode(np.zeros((101, 101), bool)) == ""
    assert not rle.decode("").any()
    assert not rle.decode(float("nan")).any()


def test_full_mask():
    assert rle.encode(np.ones((101, 101), bool)) == "1 10201"


@pytest.mark.parametrize(
    "text, message",
    [
        ("1", "odd number"),
        ("1 x", "non-integer"),
        ("0 5", "start < 1"),
        ("5 0", "length < 1"),
        ("10 5 12 3", "unsorted or overlapping"),
        ("20 1 10 1", "unsorted or overlapping"),
        ("10200 5", "past the image"),
        ("1.5 2", "non-integer"),
    ],
)
def test_malformed_strings_rejected(text, message):
    with pytest.raises(SaltsegError, match=message):
        rle.decode(text)


def test_adjacent_runs_are_allowed():
    mask = rle.decode("1 3 4 2")
    assert mask[:, 0].sum() == 5
