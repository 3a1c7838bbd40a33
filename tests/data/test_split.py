"""Holding out labelled tiles: the choice, and the folder and answers `saltseg split` writes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from saltseg import cli
from saltseg.data.kaggle import read_kaggle
from saltseg.data.split import holdout
from saltseg.errors import SaltsegError
from saltseg.io.submission import read_masks, write_submission
from saltseg.steps.tools import split_data
from tests.conftest import make_kaggle_dir


def table(n: int) -> pd.DataFrame:
    coverage = np.where(np.arange(n) % 3 == 0, 0.0, (np.arange(n) % 10 + 1) / 10.0)
    return pd.DataFrame(
        {"id": [f"t{i:03d}" for i in range(n)], "split": "train", "coverage": coverage}
    )


def test_holdout_takes_the_fraction_of_each_coverage_class_and_ignores_row_order():
    t = table(120)
    out = holdout(t, 0.25, seed=3)
    assert out.sum() == 30
    empty = t["coverage"].to_numpy() == 0
    assert abs(out[empty].sum() - 0.25 * empty.sum()) <= 1
    shuffled = t.sample(frac=1.0, random_state=1).reset_index(drop=True)
    again = holdout(shuffled, 0.25, seed=3)
    assert set(shuffled["id"][again]) == set(t["id"][out])
    assert set(t["id"][holdout(t, 0.25, seed=4)]) != set(t["id"][out])


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.001])
def test_holdout_rejects_fractions_that_leave_a_side_empty(fraction):
    with pytest.raises(SaltsegError, match="split: "):
        holdout(table(20), fraction)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_split_writes_a_kaggle_folder_and_its_answers(tmp_path, capsys):
    source = tmp_path / "src"
    arrays = make_kaggle_dir(source, n_train=12, n_test=3)
    before = {p: digest(p) for p in source.rglob("*") if p.is_file()}
    assert cli.main(["split", str(source), str(tmp_path / "out"), "--test-fraction", "0.25"]) == 0
    assert "test_tiles" in capsys.readouterr().out
    assert {p: digest(p) for p in source.rglob("*") if p.is_file()} == before  # only read
    out = read_kaggle(tmp_path / "out")  # a valid Kaggle layout
    test_ids = out.ids[out.rows_of("test")].tolist()
    train_ids = out.ids[out.rows_of("train")].tolist()
    assert len(test_ids) == 3 and len(train_ids) == 9
    assert sorted(test_ids + train_ids) == sorted(arrays["train"])  # the old test tiles are gone
    answers = read_masks(tmp_path / "out" / "answers.csv", test_ids)
    for tid, mask in zip(test_ids, answers, strict=True):
        assert np.array_equal(mask, arrays["train"][tid][1])
    # PNGs are copied byte for byte; depths follow the tiles.
    tid = test_ids[0]
    assert digest(tmp_path / "out" / "test" / "images" / f"{tid}.png") == digest(
        source / "train" / "images" / f"{tid}.png"
    )
    depths = pd.read_csv(tmp_path / "out" / "depths.csv", dtype={"id": str})
    assert sorted(depths["id"]) == sorted(arrays["train"])


def test_split_refuses_an_existing_folder_and_leaves_nothing_on_errors(tmp_path):
    source = tmp_path / "src"
    make_kaggle_dir(source, n_train=4, n_test=1)
    (tmp_path / "taken").mkdir()
    with pytest.raises(SaltsegError, match="already exists"):
        split_data(source, tmp_path / "taken")
    with pytest.raises(SaltsegError, match="leaves no tile"):
        split_data(source, tmp_path / "new", test_fraction=0.01)
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_split_can_keep_the_unlabelled_tiles_as_test_tiles_without_answers(tmp_path, capsys):
    source = tmp_path / "src"
    arrays = make_kaggle_dir(source, n_train=12, n_test=3)
    args = ["split", str(source), str(tmp_path / "out"), "--keep-unlabelled"]
    assert cli.main(args) == 0
    assert "test_answered" in capsys.readouterr().out
    out = read_kaggle(tmp_path / "out")
    test_ids = out.ids[out.rows_of("test")].tolist()
    assert len(test_ids) == 6
    assert sorted(test_ids) == sorted(
        [i for i in test_ids if i in arrays["train"]] + list(arrays["test"])
    )
    answers = pd.read_csv(tmp_path / "out" / "answers.csv", dtype={"id": str})
    assert sorted(answers["id"]) == sorted(i for i in test_ids if i in arrays["train"])
    tid = "te0001"
    assert digest(tmp_path / "out" / "test" / "images" / f"{tid}.png") == digest(
        source / "test" / "images" / f"{tid}.png"
    )
    depths = pd.read_csv(tmp_path / "out" / "depths.csv", dtype={"id": str})
    assert sorted(depths["id"]) == sorted(list(arrays["train"]) + list(arrays["test"]))
    # A submission for all of them is scored on the held-out ones (`saltseg score --partial`).
    empty = np.zeros((6, 101, 101), dtype=bool)
    write_submission(test_ids, empty, tmp_path / "sub.csv")
    assert (
        cli.main(["score", str(tmp_path / "sub.csv"), str(tmp_path / "out" / "answers.csv")]) == 1
    )
    assert "unexpected id" in capsys.readouterr().err
    args = ["score", str(tmp_path / "sub.csv"), str(tmp_path / "out" / "answers.csv"), "--partial"]
    assert cli.main(args) == 0
    assert "unscored" in capsys.readouterr().out
    # Without the flag the same held-out tiles, and no unlabelled ones.
    plain = split_data(source, tmp_path / "plain", 0.25)
    assert plain["test_tiles"] == plain["test_answered"] == 3
    again = pd.read_csv(tmp_path / "plain" / "answers.csv", dtype={"id": str})
    assert again["id"].tolist() == answers["id"].tolist()
