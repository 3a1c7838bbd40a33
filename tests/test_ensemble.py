"""Ensembling: fold averages, OOF assembly, blends, threshold search, the file wrappers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saltseg import metric
from saltseg.ensemble import (
    BLEND_ROW,
    TABLE_COLUMNS,
    assemble_oof,
    average_folds_files,
    best_threshold,
    blend,
    blend_files,
    blend_named_files,
    blend_oof_files,
    fold_average,
    read_oof_threshold,
    threshold_scores,
    train_truth,
)
from saltseg.errors import SaltsegError
from saltseg.probs import load_probs, save_probs

H = 4  # tiny maps keep the arithmetic readable


def const_maps(values) -> np.ndarray:
    return np.stack([np.full((H, H), v, dtype=np.float32) for v in values])


def test_fold_average_aligns_ids_to_the_first() -> None:
    ids = np.array(["a", "b", "c"])
    first = (ids, const_maps([0.2, 0.4, 0.6]))
    second = (ids[::-1], const_maps([1.0, 0.8, 0.0]))  # c, b, a
    out_ids, out = fold_average([first, second])
    assert out_ids.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(out[:, 0, 0], [0.1, 0.6, 0.8], atol=1e-6)


def test_fold_average_rejects_different_id_sets() -> None:
    a = (np.array(["a", "b"]), const_maps([0, 0]))
    b = (np.array(["a", "x"]), const_maps([0, 0]))
    with pytest.raises(SaltsegError, match="fold 1: 1 id"):
        fold_average([a, b])


def test_assemble_oof_takes_each_id_from_its_own_fold() -> None:
    folds = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "fold": [1, 0, -1, 1, 0]})
    all_ids = np.array(["a", "b", "c", "d", "e"])
    # Fold k's model predicts value 10*k + position for every id, so the source is visible.
    preds = [(all_ids, const_maps([10 * k + i for i in range(5)]) / 100) for k in range(2)]
    ids, oof = assemble_oof(preds, folds)
    assert ids.tolist() == ["a", "b", "d", "e"]  # folds order, fold -1 left out
    np.testing.assert_allclose(oof[:, 0, 0] * 100, [10, 1, 13, 4], atol=1e-4)


def test_assemble_oof_needs_validation_ids_and_all_folds() -> None:
    folds = pd.DataFrame({"id": ["a", "b"], "fold": [0, 1]})
    only_a = (np.array(["a"]), const_maps([0.5]))
    with pytest.raises(SaltsegError, match="fold 1"):
        assemble_oof([only_a, only_a], folds)
    with pytest.raises(SaltsegError, match="1 fold input"):
        assemble_oof([only_a], folds)


def test_blend_normalises_weights() -> None:
    ids = np.array(["a", "b"])
    _, out = blend([(ids, const_maps([0.0, 1.0])), (ids, const_maps([1.0, 0.0]))], [3, 1])
    np.testing.assert_allclose(out[:, 0, 0], [0.25, 0.75], atol=1e-6)
    with pytest.raises(SaltsegError, match="weights"):
        blend([(ids, const_maps([0.0, 1.0]))], [0.0])
    with pytest.raises(SaltsegError, match="weights"):
        blend([(ids, const_maps([0.0, 1.0])), (ids, const_maps([0.0, 1.0]))], [1.0, -1.0])


def planted_problem(best: float, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Truth squares whose probabilities sit just above ``best``; background just below it.

    Every threshold below ``best - 0.005`` adds the background ring, every one above
    ``best + 0.005`` loses the square: ``best`` scores 1.0 and every other grid value less.
    """
    truth = np.zeros((n, 20, 20), dtype=bool)
    probs = np.zeros((n, 20, 20), dtype=np.float32)
    for i in range(n):
        if i % 3 == 0:
            continue  # empty images: no pixel above `best`
        truth[i, 5:15, 5:15] = True
        probs[i, 3:17, 3:17] = best - 0.004  # the ring around the square
        probs[i, 5:15, 5:15] = best + 0.004
    return truth, probs


def test_best_threshold_finds_the_planted_value() -> None:
    truth, probs = planted_problem(0.62)
    t, s = best_threshold(truth, probs)
    assert t == pytest.approx(0.62) and s == pytest.approx(1.0)
    grid = np.round(np.arange(0.30, 0.705, 0.01), 2)
    scores = threshold_scores(truth, probs, grid)
    assert scores[np.isclose(grid, 0.62)] == pytest.approx(1.0)
    assert (scores[~np.isclose(grid, 0.62)] < 1.0).all()
    assert scores[0] == pytest.approx(metric.score(truth, probs > 0.30))


# ---------------------------------------------------------------- file wrappers


def tile_index(ids, test_ids: list[str]) -> np.ndarray:
    """Index j of each id in ``test_ids``, broadcast to full maps."""
    j = np.array([test_ids.index(i) for i in ids], dtype=np.float64)
    return np.broadcast_to(j[:, None, None], (len(j), 101, 101))


@pytest.fixture
def stage_files(tmp_path):
    """A tile set of 12 train (1 blank) + 4 test tiles, 3 folds, two models' fold files."""
    from saltseg.data import TileSet, save_tileset

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
        average_folds_files(
            spec["oof"], spec["test"], root / "folds.parquet",
            out / f"{name}.oof.npz", out / f"{name}.test.npz",
        )  # fmt: skip
    return blend_named_files(
        {name: spec["weight"] for name, spec in models.items()},
        [out / f"{name}.oof.npz" for name in models],
        [out / f"{name}.test.npz" for name in models],
        root / "tiles",
        out / "oof.npz",
        out / "test.npz",
        out / "table.csv",
    )


def test_stage_ensemble_writes_blends_and_table(stage_files) -> None:
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
        average_folds_files(
            good["oof"][:2], good["test"], root / "folds.parquet", root / "o.npz", root / "t.npz"
        )
    assert not (root / "o.npz").exists()
    assert not (root / "t.npz").exists()


def test_average_folds_rejects_a_fold_file_missing_its_validation_ids(stage_files) -> None:
    root, models, *_ = stage_files
    good = models["good"]
    swapped = [good["oof"][1], good["oof"][0], good["oof"][2]]
    with pytest.raises(SaltsegError, match="validation id"):
        average_folds_files(
            swapped, good["test"], root / "folds.parquet", root / "o.npz", root / "t.npz"
        )
    assert not (root / "o.npz").exists()


def test_blend_files_and_oof_blend(stage_files) -> None:
    root, models, truth, train_ids, test_ids = stage_files
    out = root / "out"
    run_stage(root, models, out)
    ids, probs = blend_files(
        [(out / "good.test.npz", 1.0), (out / "weak.test.npz", 3.0)], out / "b.npz"
    )
    assert ids.tolist() == load_probs(out / "good.test.npz")[0].tolist()
    j = tile_index(ids, test_ids)
    expected = 0.25 * 0.2 + 0.75 * 0.25 + 0.01 * j
    np.testing.assert_allclose(
        load_probs(out / "b.npz")[1], expected, atol=2 / 255
    )  # two quantisations

    table = blend_oof_files(
        {"s2": (out / "good.oof.npz", 1.0), "s3": (out / "weak.oof.npz", 1.0)},
        root / "tiles" / "tiles.parquet",  # the folder or its table: both work
        out / "final_oof.npz",
        out / "final_table.csv",
    )
    assert table["model"].tolist() == ["s2", "s3", BLEND_ROW]
    _, blended = load_probs(out / "final_oof.npz")
    np.testing.assert_allclose(
        blended, np.where(truth[1:], 0.75, 0.25), atol=2 / 255
    )  # two quantisations


def test_best_threshold_ties_prefer_one_half() -> None:
    truth, probs = planted_problem(0.62)
    grid = [0.30, 0.45, 0.55, 0.62, 0.70]
    assert best_threshold(truth, probs, grid)[0] == pytest.approx(0.62)
    flat = np.zeros_like(probs)  # all-empty prediction: every threshold scores the same
    assert best_threshold(truth, flat, grid)[0] == pytest.approx(0.45)


def test_read_oof_threshold_errors(tmp_path) -> None:
    pd.DataFrame({"model": ["a"], "best_threshold": [0.4]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SaltsegError, match="no 'blend' row"):
        read_oof_threshold(tmp_path / "t.csv")


def test_train_truth_follows_the_ids_and_rejects_non_train_ids(stage_files) -> None:
    root, _, truth, train_ids, test_ids = stage_files
    wanted = np.array([train_ids[2], train_ids[1]])  # empty, then salt: order shows
    np.testing.assert_array_equal(train_truth(root / "tiles", wanted), truth[[2, 1]])
    with pytest.raises(
        SaltsegError, match=f"1 OOF id\\(s\\) are not train tiles, e.g. '{test_ids[0]}'"
    ):
        train_truth(root / "tiles", np.array([train_ids[1], test_ids[0]]))
