"""The prepared tile set: round trip, lookups by id, depths."""

import numpy as np
import pandas as pd
import pytest

from saltseg.data import kaggle, tileset
from saltseg.errors import SaltsegError


def test_save_and_load_round_trip(kaggle_dir, tmp_path):
    ts = kaggle.read_kaggle(kaggle_dir[0])
    tileset.save_tileset(ts, tmp_path / "cache")
    back = tileset.load_tileset(tmp_path / "cache")
    assert np.array_equal(back.images, ts.images)
    assert np.array_equal(back.masks, ts.masks)
    assert back.table.equals(ts.table)
    assert len(back.split("test").table) == 3


def test_lookups_by_id_and_their_errors(kaggle_dir):
    ts = kaggle.read_kaggle(kaggle_dir[0])
    test_ids = ts.ids[ts.rows_of("test")]
    blank = ts.test_blank(test_ids[::-1])
    assert blank.tolist() == [False, False, True]  # te0000 is blank; order follows the ids given
    with pytest.raises(SaltsegError, match="1 test tile\\(s\\) have no prediction"):
        ts.test_blank(test_ids[:2])
    with pytest.raises(SaltsegError, match="1 predicted id\\(s\\) are not test tiles"):
        ts.test_blank([*test_ids, "tr0000"])
    train_ids = ts.ids[ts.rows_of("train")]
    np.testing.assert_array_equal(ts.train_masks(train_ids[::-1]), ts.masks[: len(train_ids)][::-1])
    with pytest.raises(SaltsegError, match="not train tiles, e.g. 'te0000'"):
        ts.train_masks(["te0000"])


def test_load_rejects_what_is_not_a_tile_set(tmp_path):
    with pytest.raises(SaltsegError, match="not a prepared tile set"):
        tileset.load_tileset(tmp_path)
    pd.DataFrame({"id": ["a"]}).to_parquet(tmp_path / "tiles.parquet")
    np.save(tmp_path / "images.npy", np.zeros((1, 101, 101), np.uint8))
    np.save(tmp_path / "masks.npy", np.zeros((1, 101, 101), bool))
    with pytest.raises(SaltsegError, match="missing column"):
        tileset.load_tileset(tmp_path / "tiles.parquet")
