"""The data steps on files: prepared tile set, folds, mosaics and their measurement."""

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from saltseg.data.folds import read_folds
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.steps.data import build_mosaic, make_folds, prepare_data, synth
from saltseg.steps.tools import mosaic_eval


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth") / "synth"
    synth(folder, {"seed": 2, "sections": 2, "rows": 3, "cols": 5, "train_fraction": 0.5})
    return folder


def test_prepare_data_and_folds(synthetic, tmp_path):
    facts = prepare_data(synthetic, tmp_path / "data" / "tiles.parquet")
    assert facts["train"] + facts["test"] == 30
    tiles = load_tileset(tmp_path / "data")
    assert len(tiles.table) == 30 and tiles.images.shape == (30, 101, 101)
    make_folds(
        tmp_path / "data" / "tiles.parquet", tmp_path / "data" / "folds.parquet", {"n_folds": 3}
    )
    folds = read_folds(tmp_path / "data" / "folds.parquet")
    assert len(folds) == facts["train"] and set(folds["fold"]) <= {-1, 0, 1, 2}
    assert folds["fold"].dtype == np.int64
    with pytest.raises(SaltsegError, match="folds: n_folds"):
        make_folds(tmp_path / "data", tmp_path / "f.parquet", {"n_folds": 1})


def test_prepare_data_names_a_missing_folder(tmp_path):
    with pytest.raises(SaltsegError, match="nowhere: data folder not found; get it"):
        prepare_data(tmp_path / "nowhere", tmp_path / "data" / "tiles.parquet", hint="get it")
    assert not (tmp_path / "data").exists()


def test_build_mosaic_writes_layout_and_summary(synthetic, tmp_path):
    facts = build_mosaic(synthetic, tmp_path / "out" / "layout.parquet", tmp_path / "s.json")
    layout = pd.read_parquet(tmp_path / "out" / "layout.parquet")
    assert list(layout.columns) == ["id", "mosaic", "row", "col"]
    assert facts["tiles_placed"] == len(layout) > 0
    assert facts["train_placed"] + facts["test_placed"] == len(layout)
    assert json.loads((tmp_path / "s.json").read_text()) == facts


def test_build_mosaic_draws_the_largest_mosaics(synthetic, tmp_path):
    picture = tmp_path / "pic" / "mosaics.png"
    build_mosaic(synthetic, tmp_path / "layout.parquet", picture=picture)
    png = cv2.imread(str(picture))
    assert png is not None and png.shape[0] > 200 and png.shape[2] == 3


def test_build_mosaic_rejects_a_picture_it_cannot_write_before_writing_anything(
    synthetic, tmp_path
):
    with pytest.raises(SaltsegError, match=r"mosaics\.txt: a picture ends in one of"):
        build_mosaic(synthetic, tmp_path / "layout.parquet", picture=tmp_path / "mosaics.txt")
    assert list(tmp_path.iterdir()) == []


def test_mosaic_eval_on_a_synthetic_set(synthetic):
    res = mosaic_eval(synthetic)
    assert res["tiles"] == 30 and res["precision"] == 1.0 and res["recall_linkable"] >= 0.6
    assert res["seconds"] >= 0
    assert res["loops_blocks_closed"] > 0.9 and 0 <= res["stability_pairs_survived"] <= 1
    assert res["continuity_linked_continuous"] >= res["continuity_random_continuous"]
    # the synthetic seams continue, so cuts through its tiles are found too
    assert res["cut_h_recall"] > 0.5 and res["cut_v_recall"] > 0.5
    # every tile has one texture kind, and the placed ones are counted in theirs
    assert sum(res[f"kind_{k}_tiles"] for k in ("smooth", "rough", "flat")) == res["tiles"]
    assert sum(res[f"kind_{k}_placed"] for k in ("smooth", "rough", "flat")) == res["tiles_placed"]
    assert res["kind_flat_placed"] == 0
