"""Fold assignment: the 1st-place depth deal, coverage stratification, blanks, errors, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saltseg.data.folds import FoldsScheme, assign_folds, coverage_classes, read_folds
from saltseg.errors import SaltsegError


def tile_table(n_train: int, n_test: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    coverage = np.where(rng.random(n_train) < 0.4, 0.0, rng.random(n_train))
    return pd.DataFrame(
        {
            "id": [f"tr{i:04d}" for i in range(n_train)] + [f"te{i:04d}" for i in range(n_test)],
            "split": ["train"] * n_train + ["test"] * n_test,
            "z": rng.permutation(np.arange(n_train + n_test) * 10.0 + 50),
            "coverage": np.concatenate([coverage, np.full(n_test, np.nan)]),
            "blank": np.zeros(n_train + n_test, dtype=bool),
        }
    )


def test_depth_folds_deal_sorted_ids_round_robin() -> None:
    table = pd.DataFrame(
        {
            "id": ["e", "a", "d", "c", "b", "f", "g", "t"],
            "split": ["train"] * 7 + ["test"],
            # ties (a, d at 20) break by id; the unknown depth (g) goes last
            "z": [50.0, 20.0, 20.0, 10.0, 40.0, 30.0, np.nan, 1.0],
            "coverage": [0.1] * 7 + [np.nan],
            "blank": [False] * 8,
        }
    )
    folds = assign_folds(table, n_folds=3, method="depth")
    # sorted: c(10) a(20) d(20) f(30) b(40) e(50) g(nan) -> folds 0 1 2 0 1 2 0
    expected = {"c": 0, "a": 1, "d": 2, "f": 0, "b": 1, "e": 2, "g": 0}
    assert list(folds.columns) == ["id", "fold"]
    assert folds["id"].tolist() == ["e", "a", "d", "c", "b", "f", "g"]  # table order, train only
    assert dict(zip(folds["id"], folds["fold"], strict=True)) == expected


def test_every_usable_id_exactly_once_and_blank_excluded() -> None:
    table = tile_table(53)
    table.loc[[3, 17, 40], "blank"] = True
    folds = assign_folds(table, n_folds=5)
    train_ids = table.loc[table["split"] == "train", "id"]
    assert sorted(folds["id"]) == sorted(train_ids)
    assert not folds["id"].duplicated().any()
    blank_ids = set(table.loc[[3, 17, 40], "id"])
    assert (folds.loc[folds["id"].isin(blank_ids), "fold"] == -1).all()
    used = folds.loc[~folds["id"].isin(blank_ids), "fold"]
    assert set(used) == set(range(5))
    sizes = np.bincount(used)
    assert sizes.max() - sizes.min() <= 1  # 50 usable tiles -> 10 each


def test_coverage_folds_balance_classes_and_are_deterministic() -> None:
    table = tile_table(200, seed=1)
    a = assign_folds(table, n_folds=4, method="coverage", seed=3)
    b = assign_folds(table, n_folds=4, method="coverage", seed=3)
    c = assign_folds(table, n_folds=4, method="coverage", seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["fold"].equals(c["fold"])
    classes = coverage_classes(table["coverage"].iloc[:200].to_numpy(), 4)
    for cls in np.unique(classes):
        per_fold = np.bincount(a["fold"].to_numpy()[classes == cls], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1, (cls, per_fold)


def test_depth_folds_are_deterministic() -> None:
    table = tile_table(40)
    shuffled = table.sample(frac=1.0, random_state=7).reset_index(drop=True)
    a = assign_folds(table, 5, "depth").set_index("id").sort_index()
    b = assign_folds(shuffled, 5, "depth", seed=99).set_index("id").sort_index()
    pd.testing.assert_frame_equal(a, b)


def test_coverage_classes_empty_own_class_and_rare_classes_merged() -> None:
    cov = np.array([0, 0, 0, 0.05, 0.1, 0.11, 0.95, 1.0])
    np.testing.assert_array_equal(coverage_classes(cov, 1), [0, 0, 0, 1, 1, 2, 10, 10])
    merged = coverage_classes(cov, 3)
    assert (np.unique(merged, return_counts=True)[1] >= 3).all()
    assert merged[0] == 0 and (merged[:3] == merged[0]).all()


@pytest.mark.parametrize(
    ("n_folds", "method", "message"),
    [(1, "depth", "n_folds"), (6, "depth", "usable"), (3, "random", "unknown method")],
)
def test_errors(n_folds: int, method: str, message: str) -> None:
    table = tile_table(6)
    table.loc[0, "blank"] = True  # 5 usable tiles
    with pytest.raises(SaltsegError, match=message):
        assign_folds(table, n_folds=n_folds, method=method)


def test_read_folds_rejects_gaps(tmp_path) -> None:
    pd.DataFrame({"id": ["a", "b"], "fold": [0, 2]}).to_parquet(tmp_path / "f.parquet")
    with pytest.raises(SaltsegError, match="numbered"):
        read_folds(tmp_path / "f.parquet")


def test_fold_scheme_defaults_and_errors() -> None:
    assert FoldsScheme.parse(None) == FoldsScheme(n_folds=5, method="depth", seed=0)
    with pytest.raises(SaltsegError, match="folds: method: Input should be 'depth' or 'coverage'"):
        FoldsScheme.parse({"method": "random"}, "folds")
