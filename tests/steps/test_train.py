"""The training steps: which tiles a fold trains and validates on, pseudo labels on files."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from saltseg.data.tileset import TileSet, save_tileset
from saltseg.errors import SaltsegError
from saltseg.io.masks import load_masks, save_masks
from saltseg.io.probs import save_probs
from saltseg.nn.spec import PredictSpec
from saltseg.steps import train as steps


@pytest.fixture
def prepared(tmp_path):
    n_train, n_test = 8, 4
    ids = [f"tr{i}" for i in range(n_train)] + [f"te{i}" for i in range(n_test)]
    images = np.arange(len(ids), dtype=np.uint8)[:, None, None] * np.ones((1, 101, 101), np.uint8)
    images[2] = 7  # tr2 is blank
    masks = np.zeros((len(ids), 101, 101), bool)
    masks[:n_train:2, 50:] = True
    table = pd.DataFrame(
        {
            "id": ids,
            "split": ["train"] * n_train + ["test"] * n_test,
            "z": [100.0 * i for i in range(n_train)] + [np.nan] * n_test,
            "coverage": [m.mean() for m in masks[:n_train]] + [np.nan] * n_test,
            "blank": [i == 2 for i in range(len(ids))],
        }
    )
    save_tileset(TileSet(table, images, masks), tmp_path / "data")
    folds = pd.DataFrame({"id": ids[:n_train], "fold": [0, 1, -1, 1, 0, 1, 0, 1]})
    folds.to_parquet(tmp_path / "folds.parquet")
    return tmp_path


def fake_checkpoint(path):
    """What predict_fold reads of a checkpoint besides the maps (faked too): its predict spec."""
    return SimpleNamespace(path=path, spec=SimpleNamespace(predict=PredictSpec()))


@pytest.fixture
def captured(monkeypatch):
    calls = []
    monkeypatch.setattr(steps, "train", lambda *a, **k: calls.append((a, k)))
    return calls


# train() is replaced by a recorder in these tests, so the spec is never built into a model.
SPEC = {
    "model": {"encoder": "resnet18"},
    "train": {
        "phases": [{"loss": {"bce": 1.0}, "optimizer": {"name": "adam", "lr": 1e-3}, "epochs": 1}]
    },
}


def ids_of(samples):
    return samples.images[:, 0, 0].tolist()  # the fixture's images are their row number


def test_depths_fill_unknown_with_the_median():
    def tiles(z):
        return TileSet(pd.DataFrame({"z": z}), np.zeros((len(z), 1, 1)), np.zeros((len(z), 1, 1)))

    assert tiles([100.0, np.nan, 300.0]).depths().tolist() == [100.0, 200.0, 300.0]
    assert tiles([np.nan]).depths().tolist() == [0.0]


def test_fold_trains_on_other_folds_and_validates_on_its_own(prepared, captured):
    steps.train_fold(
        prepared / "data", prepared / "folds.parquet", 0, SPEC, "m.pt", "h.csv", "c.png"
    )
    ((args, kwargs),) = captured
    _, train_set, val_set = args[:3]
    assert ids_of(train_set) == [1, 3, 5, 7]  # fold 1; the blank tile (fold -1) nowhere
    assert ids_of(val_set) == [0, 4, 6]
    assert np.array_equal(train_set.masks, np.zeros_like(train_set.masks))  # odd rows: no salt
    assert kwargs["init_checkpoint"] is None and kwargs["seed"] == 0


def train_fold_1(prepared, **kwargs) -> None:
    """train_fold of fold 1 of the fixture, in a mode of ``kwargs``."""
    steps.train_fold(
        prepared / "data", prepared / "folds.parquet", 1, SPEC, "m.pt", "h.csv", "c.png", **kwargs
    )


def test_append_mode_adds_pseudo_labels(prepared, captured):
    pseudo = np.ones((2, 101, 101), bool)
    save_masks(prepared / "pseudo.npz", ["te1", "te3"], pseudo)
    train_fold_1(prepared, mode="append", pseudo=prepared / "pseudo.npz")
    ((args, _),) = captured
    assert ids_of(args[1]) == [0, 4, 6, 9, 11]
    assert args[1].masks[-2:].all() and args[1].z[-1] == pytest.approx(350.0)  # median depth


def test_soft_pseudo_labels_reach_training_as_probabilities(prepared, captured):
    soft = np.full((2, 101, 101), 0.8, np.float32)
    save_masks(prepared / "pseudo.npz", ["te1", "te3"], soft)
    train_fold_1(prepared, mode="append", pseudo=prepared / "pseudo.npz")
    ((args, _),) = captured
    train_set = args[1]
    assert train_set.soft and train_set.masks.dtype == np.float32
    assert np.allclose(train_set.masks[-2:], 0.8, atol=0.5 / 255)
    assert set(np.unique(train_set.masks[:-2]).tolist()) <= {0.0, 1.0}  # labelled tiles


def test_pretrain_mode_starts_from_the_pretrained_weights(prepared, captured):
    train_fold_1(prepared, mode="pretrain", init="pre.pt")
    assert captured[0][1]["init_checkpoint"] == "pre.pt"


def test_refine_mode_adds_pseudo_labels_and_starts_from_the_earlier_fold(prepared, captured):
    save_masks(prepared / "pseudo.npz", ["te1", "te3"], np.ones((2, 101, 101), bool))
    train_fold_1(prepared, mode="refine", pseudo=prepared / "pseudo.npz", init="stage1_fold1.pt")
    ((args, kwargs),) = captured
    assert ids_of(args[1]) == [0, 4, 6, 9, 11]
    assert kwargs["init_checkpoint"] == "stage1_fold1.pt"
    for missing in ({"init": "a.pt"}, {"pseudo": prepared / "pseudo.npz"}):
        with pytest.raises(SaltsegError, match="train_fold: refine mode needs"):
            train_fold_1(prepared, mode="refine", **missing)


def test_the_seed_set_offsets_every_training_seed(prepared, captured):
    spec = {**SPEC, "train": {**SPEC["train"], "seed": 100}}
    steps.train_fold(
        prepared / "data", prepared / "folds.parquet", 1, spec, "m.pt", "h.csv", "c.png"
    )
    save_masks(prepared / "pseudo.npz", ["te0", "te2"], np.ones((2, 101, 101), bool))
    steps.pretrain_on_pseudo(
        prepared / "data", prepared / "pseudo.npz", spec, "m.pt", "h.csv", "c.png"
    )
    assert [kwargs["seed"] for _, kwargs in captured] == [101, 100]


def test_pretrain_on_pseudo_validates_on_labelled_tiles(prepared, captured):
    save_masks(prepared / "pseudo.npz", ["te0", "te2"], np.ones((2, 101, 101), bool))
    steps.pretrain_on_pseudo(
        prepared / "data", prepared / "pseudo.npz", SPEC, "m.pt", "h.csv", "c.png"
    )
    ((args, _),) = captured
    assert ids_of(args[1]) == [8, 10]
    assert ids_of(args[2]) == [0, 1, 3, 4, 5, 6, 7]  # every non-blank train tile


def test_errors_name_the_problem(prepared, captured):
    with pytest.raises(SaltsegError, match="pretrain mode needs the model to start from"):
        steps.train_fold(
            prepared / "data", prepared / "folds.parquet", 0, SPEC, "m.pt", "h.csv", "c.png",
            mode="pretrain",
        )  # fmt: skip
    with pytest.raises(SaltsegError, match="fold 5 does not exist"):
        steps.train_fold(
            prepared / "data", prepared / "folds.parquet", 5, SPEC, "m.pt", "h.csv", "c.png"
        )
    save_masks(prepared / "bad.npz", ["nope"], np.ones((1, 101, 101), bool))
    with pytest.raises(SaltsegError, match="'nope' is not in the prepared data"):
        steps.pretrain_on_pseudo(
            prepared / "data", prepared / "bad.npz", SPEC, "m.pt", "h.csv", "c.png"
        )
    save_masks(prepared / "empty.npz", [], np.zeros((0, 101, 101), bool))
    with pytest.raises(SaltsegError, match="no pseudo labels"):
        steps.pretrain_on_pseudo(
            prepared / "data", prepared / "empty.npz", SPEC, "m.pt", "h.csv", "c.png"
        )


def test_make_pseudo_labels_files(prepared) -> None:
    probs = np.zeros((4, 101, 101), dtype=np.float32)
    probs[:, :40] = 0.99
    probs[3, 40:] = 0.5  # te3 unsure
    order = [3, 0, 2, 1]
    save_probs(prepared / "test.npz", [f"te{i}" for i in order], probs[order])
    data = prepared / "data" / "tiles.parquet"
    counts = steps.make_pseudo_labels(
        prepared / "test.npz", data, prepared / "out" / "pseudo.npz", prepared / "counts.json",
        settings={"from": "stage1", "min_confidence": 0.9},
    )  # fmt: skip
    ids, masks = load_masks(prepared / "out" / "pseudo.npz")
    assert ids.tolist() == ["te0", "te2", "te1"]  # the input order
    np.testing.assert_array_equal(masks[0], probs[0] > 0.5)
    assert json.loads((prepared / "counts.json").read_text()) == counts
    assert counts["kept"] == 3 and counts["blank"] == 0 and counts["total"] == 4

    steps.make_pseudo_labels(
        prepared / "test.npz", data, prepared / "out" / "soft.npz", prepared / "soft.json",
        settings={"from": "stage1", "min_confidence": 0.9, "soft": True},
    )  # fmt: skip
    soft_ids, soft = load_masks(prepared / "out" / "soft.npz")
    assert soft_ids.tolist() == ids.tolist() and soft.dtype == np.float32
    np.testing.assert_allclose(soft[0], probs[0], atol=0.5 / 255)

    save_probs(prepared / "short.npz", ["te0", "te1"], probs[:2])
    with pytest.raises(SaltsegError, match="2 test tile"):
        steps.make_pseudo_labels(prepared / "short.npz", data, prepared / "x.npz", "x.json")
    assert not (prepared / "x.npz").exists()

    extra = np.concatenate([probs, probs[:1]])
    save_probs(prepared / "extra.npz", ["te0", "te1", "te2", "te3", "tr0"], extra)
    with pytest.raises(SaltsegError, match="1 predicted id\\(s\\) are not test tiles, e.g. 'tr0'"):
        steps.make_pseudo_labels(prepared / "extra.npz", data, prepared / "x.npz", "x.json")
    assert not (prepared / "x.npz").exists()


def test_oof_classifier_threshold_picks_the_best_and_the_lowest_on_ties():
    truth = np.zeros((4, 101, 101), bool)
    truth[:2, 60:] = True  # two tiles with salt, two empty
    maps = np.zeros((4, 101, 101), np.float32)
    maps[:, 60:] = 0.9  # every tile predicted with the right salt: wrong on the empty ones
    image = np.array([0.9, 0.6, 0.3, 0.1], np.float32)
    threshold, gain = steps.oof_classifier_threshold(truth, maps, image)
    # 0.35 .. 0.6 empty both empty tiles and keep both salty ones: the lowest such is 0.35.
    assert threshold == pytest.approx(0.35) and gain == pytest.approx(0.5)
    # A head that helps nowhere: no emptying (threshold 0, gain 0).
    assert steps.oof_classifier_threshold(truth[:2], maps[:2], image[:2]) == (0.0, 0.0)


def test_predict_fold_measures_the_image_head_threshold_on_its_oof_tiles(prepared, monkeypatch):
    from saltseg.io.probs import load_probs, read_classifier_threshold

    def fake_predict_maps(checkpoint, samples, **settings):
        n = len(samples)
        maps = np.full((n, 101, 101), 0.9, np.float32)
        image = np.where(samples.images[:, 0, 0] % 2 == 0, 0.8, 0.2).astype(np.float32)
        return maps, image  # even rows have salt in the fixture: the head is right

    monkeypatch.setattr(steps, "predict_maps", fake_predict_maps)
    # No real checkpoint: the threshold comes from the settings, the maps from the fake above.
    monkeypatch.setattr(steps, "load_checkpoint", fake_checkpoint)
    steps.predict_fold(
        "unused.pt", prepared / "data", prepared / "folds.parquet", 0,
        prepared / "oof.npz", prepared / "test.npz",
        settings={"classifier_threshold": "oof"},
    )  # fmt: skip
    oof_ids, oof = load_probs(prepared / "oof.npz")
    test_ids, test = load_probs(prepared / "test.npz")
    # Fold 0 is tr0, tr4, tr6 (all with salt): any threshold up to 0.8 keeps them; the lowest
    # (0) empties nothing, also on the test tiles.
    assert oof.max(axis=(1, 2)).min() > 0.8 and test.max(axis=(1, 2)).min() > 0.8
    # The measured threshold goes with the predictions (the bundle takes it from there).
    assert read_classifier_threshold(prepared / "oof.npz") == 0.0
    # With a fixed threshold, the odd test rows (image probability 0.2) are emptied.
    steps.predict_fold(
        "unused.pt", prepared / "data", prepared / "folds.parquet", 0,
        prepared / "oof.npz", prepared / "test.npz", settings={"classifier_threshold": 0.5},
    )  # fmt: skip
    test_ids, test = load_probs(prepared / "test.npz")
    emptied = [i for i, m in zip(test_ids, test, strict=True) if m.max() == 0]
    assert emptied == ["te1", "te3"]  # rows 9 and 11
    assert read_classifier_threshold(prepared / "test.npz") == 0.5


def test_predict_fold_can_predict_test_tiles_with_their_own_tta(prepared, monkeypatch):
    from saltseg.io.probs import load_probs

    def fake_predict_maps(checkpoint, samples, tta=None, **settings):
        value = 0.9 if tta else 0.6  # tells which TTA each tile was predicted with
        return np.full((len(samples), 101, 101), value, np.float32), None

    monkeypatch.setattr(steps, "predict_maps", fake_predict_maps)
    monkeypatch.setattr(steps, "load_checkpoint", fake_checkpoint)
    for settings, oof_value, test_value in (
        ({"tta": ["hflip"]}, 0.9, 0.9),
        ({"tta": ["hflip"], "test_tta": []}, 0.9, 0.6),
    ):
        steps.predict_fold(
            "unused.pt", prepared / "data", prepared / "folds.parquet", 0,
            prepared / "oof.npz", prepared / "test.npz", settings=settings,
        )  # fmt: skip
        oof_ids, oof = load_probs(prepared / "oof.npz")
        test_ids, test = load_probs(prepared / "test.npz")
        assert oof_ids.tolist() == ["tr0", "tr4", "tr6"] and len(test_ids) == 4
        assert np.allclose(oof, oof_value, atol=0.01) and np.allclose(test, test_value, atol=0.01)
