"""The blend steps on files: fold averages, stage and final blends, score tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saltseg.blend import BLEND_ROW, TABLE_COLUMNS
from saltseg.data.tileset import TileSet, load_tileset, save_tileset
from saltseg.errors import SaltsegError
from saltseg.io.probs import load_probs, save_probs
from saltseg.postprocess import PostprocessConfig
from saltseg.steps.blend import (
    average_folds,
    blend_final,
    blend_stage,
    read_oof_threshold,
    resolve_oof_settings,
)


def tile_index(ids, test_ids: list[str]) -> np.ndarray:
    """Index j of each id in ``test_ids``, broadcast to full maps."""
    j = np.array([test_ids.index(i) for i in ids], dtype=np.float64)
    return np.broadcast_to(j[:, None, None], (len(j), 101, 101))


@pytest.fixture
def stage_files(tmp_path):
    """A tile set of 12 train (1 blank) + 4 test tiles, 3 folds, two models' fold files."""
    rng = np.random.default_rng(0)
    n_train, n_test = 12, 4
    truth = np.zeros((n_train, 101, 101), dtype=bool)
    for i in range(1, n_train, 2):
        truth[i, 20:70, 10:90] = True
    train_ids = [f"tr{i:02d}" for i in range(n_train)]
    test_ids = [f"te{i:02d}" for i in range(n_test)]
    table = pd.DataFrame(
        {
            "id": train_ids + test_ids,
            "split": ["train"] * n_train + ["test"] * n_test,
            "z": np.arange(n_train + n_test, dtype=float),
            "coverage": np.r_[truth.mean(axis=(1, 2)), np.full(n_test, np.nan)],
            "blank": [True] + [False] * (n_train + n_test - 1),
        }
    )
    images = rng.integers(0, 256, (n_train + n_test, 101, 101), dtype=np.uint8)
    masks = np.concatenate([truth, np.zeros((n_test, 101, 101), bool)])
    save_tileset(TileSet(table, images, masks), tmp_path / "tiles")
    fold = np.r_[-1, np.arange(n_train - 1) % 3]
    pd.DataFrame({"id": train_ids, "fold": fold}).to_parquet(tmp_path / "folds.parquet")

    models = {}
    for m, (name, quality) in enumerate([("good", 0.9), ("weak", 0.6)]):
        spec = {"weight": [3.0, 1.0][m], "oof": [], "test": []}
        for k in range(3):
            val = np.flatnonzero(fold == k)
            p = np.where(truth[val], quality, 1 - quality).astype(np.float32)
            path = tmp_path / f"{name}_oof{k}.npz"
            save_probs(path, [train_ids[i] for i in val], p)
            spec["oof"].append(path)
            # value 0.1 (k + 1) + 0.05 m + 0.01 j for test tile j: any misalignment shows
            tp = np.zeros((n_test, 101, 101), dtype=np.float32)
            tp += (0.1 * (k + 1) + 0.05 * m + 0.01 * np.arange(n_test))[:, None, None]
            path = tmp_path / f"{name}_test{k}.npz"
            order = rng.permutation(n_test)  # files need not share an id order
            save_probs(path, [test_ids[i] for i in order], tp[order])
            spec["test"].append(path)
        models[name] = spec
    return tmp_path, models, truth, train_ids, test_ids


def run_stage(root, models, out):
    """What the workflow does for one stage: average_folds per model, then the stage blend."""
    for name, spec in models.items():
        average_folds(
            oofs=spec["oof"], tests=spec["test"], folds=root / "folds.parquet",
            oof=out / f"{name}.oof.npz", test=out / f"{name}.test.npz",
        )  # fmt: skip
    return blend_stage(
        weights={name: spec["weight"] for name, spec in models.items()},
        oofs=[out / f"{name}.oof.npz" for name in models],
        tests=[out / f"{name}.test.npz" for name in models],
        tiles=root / "tiles" / "tiles.parquet",
        oof=out / "oof.npz",
        test=out / "test.npz",
        scores=out / "table.csv",
    )


def test_stage_blend_writes_blends_and_table(stage_files) -> None:
    root, models, truth, train_ids, test_ids = stage_files
    table = run_stage(root, models, root / "out")
    oof_ids, oof = load_probs(root / "out" / "oof.npz")
    assert oof_ids.tolist() == train_ids[1:]  # the blank tile (fold -1) is left out
    expected = np.where(truth[1:], 0.75 * 0.9 + 0.25 * 0.6, 0.75 * 0.1 + 0.25 * 0.4)
    np.testing.assert_allclose(oof, expected, atol=2 / 255)  # two quantisations

    ids, test = load_probs(root / "out" / "test.npz")
    assert sorted(ids.tolist()) == test_ids  # in the order of the first fold's file
    j = tile_index(ids, test_ids)
    # fold means 0.2 (good) and 0.25 (weak) plus 0.01 j, blended 3:1
    np.testing.assert_allclose(
        test, 0.75 * 0.2 + 0.25 * 0.25 + 0.01 * j, atol=2 / 255
    )  # two quantisations
    good_ids, good_test = load_probs(root / "out" / "good.test.npz")
    j = tile_index(good_ids, test_ids)
    np.testing.assert_allclose(good_test, 0.2 + 0.01 * j, atol=1 / 255)  # one quantisation

    on_disk = pd.read_csv(root / "out" / "table.csv")
    assert list(on_disk.columns) == TABLE_COLUMNS
    assert on_disk["model"].tolist() == ["good", "weak", BLEND_ROW]
    np.testing.assert_allclose(on_disk["weight"], [0.75, 0.25, 1.0])
    assert (on_disk["images"] == 11).all()
    assert table["oof_score"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    # the blend is 0.75 on salt and 0.175 elsewhere: every grid threshold scores 1; 0.5 wins
    assert read_oof_threshold(root / "out" / "table.csv") == pytest.approx(0.50)


def test_average_folds_rejects_wrong_number_of_oof_files(stage_files) -> None:
    root, models, *_ = stage_files
    good = models["good"]
    with pytest.raises(SaltsegError, match="folds.parquet: 3 folds but 2 OOF files"):
        average_folds(
            good["oof"][:2], good["test"], root / "folds.parquet", root / "o.npz", root / "t.npz"
        )
    assert not (root / "o.npz").exists()
    assert not (root / "t.npz").exists()


def test_average_folds_rejects_a_fold_file_missing_its_validation_ids(stage_files) -> None:
    root, models, *_ = stage_files
    good = models["good"]
    swapped = [good["oof"][1], good["oof"][0], good["oof"][2]]
    with pytest.raises(SaltsegError, match="validation id"):
        average_folds(swapped, good["test"], root / "folds.parquet", root / "o.npz", root / "t.npz")
    assert not (root / "o.npz").exists()


def test_final_blend_of_two_members(stage_files) -> None:
    root, models, truth, train_ids, test_ids = stage_files
    out = root / "out"
    run_stage(root, models, out)
    table = blend_final(
        weights={"s2": 1.0, "s3": 3.0},
        oofs=[out / "good.oof.npz", out / "weak.oof.npz"],
        tests=[out / "good.test.npz", out / "weak.test.npz"],
        tiles=root / "tiles",  # the folder or its table: both work
        oof=out / "final_oof.npz",
        test=out / "final_test.npz",
        scores=out / "final_table.csv",
    )
    assert table["model"].tolist() == ["s2", "s3", BLEND_ROW]
    ids, probs = load_probs(out / "final_test.npz")
    assert ids.tolist() == load_probs(out / "good.test.npz")[0].tolist()
    j = tile_index(ids, test_ids)
    expected = 0.25 * 0.2 + 0.75 * 0.25 + 0.01 * j
    np.testing.assert_allclose(probs, expected, atol=2 / 255)  # two quantisations
    _, blended = load_probs(out / "final_oof.npz")
    expected = np.where(truth[1:], 0.25 * 0.9 + 0.75 * 0.6, 0.25 * 0.1 + 0.75 * 0.4)
    np.testing.assert_allclose(blended, expected, atol=2 / 255)  # two quantisations


def test_read_oof_threshold_errors(tmp_path) -> None:
    pd.DataFrame({"model": ["a"], "best_threshold": [0.4]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SaltsegError, match="no 'blend' row"):
        read_oof_threshold(tmp_path / "t.csv")


def test_oof_settings_come_from_the_blend_row(tmp_path) -> None:
    table = pd.DataFrame(
        {"model": ["m", "blend"], "best_threshold": [0.6, 0.45], "best_empty_below": [0.9, 0.7]}
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    cfg = resolve_oof_settings(
        PostprocessConfig(threshold="oof", empty_below="oof"), tmp_path / "t.csv"
    )
    assert cfg.threshold == pytest.approx(0.45) and cfg.empty_below == pytest.approx(0.7)
    fixed = PostprocessConfig(threshold=0.5, empty_below=0.8)
    assert resolve_oof_settings(fixed, tmp_path / "missing.csv") == fixed  # nothing to read
    table.loc[1, "best_empty_below"] = np.nan  # no level helped on the OOF tiles: off
    table.to_csv(tmp_path / "t.csv", index=False)
    cfg = resolve_oof_settings(PostprocessConfig(empty_below="oof"), tmp_path / "t.csv")
    assert cfg.empty_below is None
    table.drop(columns="best_empty_below").to_csv(tmp_path / "old.csv", index=False)
    with pytest.raises(SaltsegError, match="old.csv: .*best_empty_below .*re-run the blend"):
        resolve_oof_settings(PostprocessConfig(empty_below="oof"), tmp_path / "old.csv")


def test_train_masks_follow_the_ids_and_reject_non_train_ids(stage_files) -> None:
    root, _, truth, train_ids, test_ids = stage_files
    tiles = load_tileset(root / "tiles")
    wanted = np.array([train_ids[2], train_ids[1]])  # empty, then salt: order shows
    np.testing.assert_array_equal(tiles.train_masks(wanted), truth[[2, 1]])
    with pytest.raises(
        SaltsegError, match=f"1 id\\(s\\) are not train tiles, e.g. '{test_ids[0]}'"
    ):
        tiles.train_masks(np.array([train_ids[1], test_ids[0]]))
