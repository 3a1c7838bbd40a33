"""The model bundle's manifest: member weights and what makes a folder a readable bundle."""

import json

import pytest

from saltseg.bundle.manifest import FORMAT, Member, member_weights, read_manifest, write_manifest
from saltseg.errors import SaltsegError


def test_member_weights_spread_stage_weights_over_models():
    stages = {"stage2": {"a": 1.0, "b": 3.0}, "stage3": {"c": 1.0}}
    got = member_weights({"stage2": 1.0, "stage3/c": 1.0}, stages)
    assert got == [("stage2", "a", 0.125), ("stage2", "b", 0.375), ("stage3", "c", 0.5)]
    # A model named both through its stage and on its own adds up; weight 0 drops out.
    got = member_weights({"stage2": 1.0, "stage2/a": 1.0}, {"stage2": {"a": 1.0, "b": 0.0}})
    assert got == [("stage2", "a", 1.0)]


def write_bundle(folder, folds=("models/s/a/fold0.pt",)):
    folder.mkdir(parents=True, exist_ok=True)
    for rel in folds:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"x")
    member = Member("stage1", "a", 1.0, tuple(folds), {"tta": ["hflip"]})
    return write_manifest(folder, [member], threshold=0.45, postprocess={}, oof_scores=[])


def test_manifest_round_trip_and_errors(tmp_path):
    written = write_bundle(tmp_path / "b")
    manifest, members = read_manifest(tmp_path / "b")
    assert manifest == written and members[0].folds == ("models/s/a/fold0.pt",)
    with pytest.raises(SaltsegError, match="not a model bundle"):
        read_manifest(tmp_path)
    (tmp_path / "b" / "models/s/a/fold0.pt").unlink()
    with pytest.raises(SaltsegError, match="fold0.pt: missing from the bundle"):
        read_manifest(tmp_path / "b")
    path = tmp_path / "b" / "bundle.json"
    path.write_text(json.dumps({**written, "format": FORMAT + 1, "saltseg": "9.9"}))
    with pytest.raises(SaltsegError, match="bundle format 2 from saltseg 9.9; this saltseg"):
        read_manifest(tmp_path / "b")
    path.write_text("{not json")
    with pytest.raises(SaltsegError, match="unreadable manifest"):
        read_manifest(tmp_path / "b")


def test_an_oof_image_head_threshold_is_bundled_per_fold_and_used_per_fold(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from saltseg.bundle import predict as bundle_predict
    from saltseg.data.tileset import TileSet, save_tileset
    from saltseg.io.probs import save_probs
    from saltseg.steps.bundle import export_bundle

    table = pd.DataFrame({"id": ["a", "b"], "split": ["train", "test"], "z": [100.0, np.nan],
                          "coverage": [0.0, np.nan], "blank": [False, False]})  # fmt: skip
    images = np.full((2, 101, 101), 80, np.uint8)
    images[:, :, ::2] = 100  # not blank: 51 columns of 100, 50 of 80
    save_tileset(TileSet(table, images, np.zeros((2, 101, 101), bool)), tmp_path / "data")
    checkpoints, oofs = [], []
    for k, threshold in enumerate((0.4, 0.6)):
        checkpoints.append(tmp_path / f"fold{k}.pt")
        checkpoints[-1].write_bytes(b"weights")
        oofs.append(tmp_path / f"oof{k}.npz")
        save_probs(oofs[-1], ["a"], np.zeros((1, 101, 101)), classifier_threshold=threshold)
    pd.DataFrame(
        {"model": ["blend"], "weight": [1.0], "oof_score": [0.5], "best_threshold": [0.5],
         "best_empty_below": [0.7]}
    ).to_csv(tmp_path / "scores.csv", index=False)  # fmt: skip
    member = {"stage": "stage1", "model": "a", "weight": 1.0, "folds": 2,
              "predict": {"classifier_threshold": "oof", "tta": []}}  # fmt: skip
    manifest = export_bundle(
        checkpoints, oofs, tmp_path / "scores.csv", tmp_path / "data" / "tiles.parquet",
        tmp_path / "bundle", [member], postprocess={"threshold": "oof", "empty_below": "oof"},
    )  # fmt: skip
    assert manifest["members"][0]["predict"]["classifier_threshold"] == [0.4, 0.6]
    assert manifest["threshold"] == 0.5 and manifest["postprocess"]["empty_below"] == 0.7
    assert manifest["grey"] == {"mean": pytest.approx(90.1, abs=0.01), "std": pytest.approx(10.0)}

    # Every fold predicts salt everywhere with image probability 0.5: fold 0 (0.4) keeps it,
    # fold 1 (0.6) empties it, so the fold average is half of the map.
    def predict_maps(ckpt, samples, **settings):
        n = len(samples)
        return np.ones((n, 101, 101), np.float32), np.full(n, 0.5, np.float32)

    monkeypatch.setattr(bundle_predict, "predict_maps", predict_maps)
    monkeypatch.setattr(bundle_predict, "load_checkpoint", lambda path: path)
    monkeypatch.setattr(bundle_predict, "prepared_network", lambda ckpt, compute: None)
    bundle = bundle_predict.load_bundle(tmp_path / "bundle")
    probs = bundle_predict.bundle_probabilities(bundle, images[:1])
    np.testing.assert_allclose(probs, 0.5)
    assert bundle_predict.tile_postprocess_config(bundle).empty_below == 0.7


def test_a_member_with_compile_predicts_through_a_compiled_network(tmp_path, monkeypatch):
    import numpy as np
    import torch

    from saltseg.bundle import predict as bundle_predict
    from saltseg.nn.compiled import CompiledNetwork
    from saltseg.nn.predict import predict
    from saltseg.nn.samples import Samples
    from tests.nn.test_predict import random_checkpoint
    from tests.nn.test_train import tiles, tiny_spec

    compiled = []
    monkeypatch.setattr(torch, "compile", lambda model, **_: compiled.append(model) or model)
    spec = tiny_spec(input={"pad": 32, "resize": 32, "channels": ["image"]})
    folder = tmp_path / "bundle"
    (folder / "models").mkdir(parents=True)
    random_checkpoint(folder / "models" / "fold0.pt", spec)
    member = Member("stage1", "a", 1.0, ("models/fold0.pt",), {"compile": True, "tta": []})
    write_manifest(folder, [member], threshold=0.5, postprocess={}, oof_scores=[])
    data = tiles(3)
    bundle = bundle_predict.load_bundle(folder)
    probs = bundle_predict.bundle_probabilities(bundle, data.images, data.z, threads=1)
    assert len(compiled) == 1
    assert all(isinstance(n, CompiledNetwork) for n in bundle.networks.values())
    plain = predict(folder / "models" / "fold0.pt", Samples(data.images, None, data.z),
                    threads=1, tta=[], snapshots=spec.predict.snapshots)  # fmt: skip
    np.testing.assert_allclose(probs, plain, atol=1e-6)
    # saltseg predict --no-compile: the plain network, whatever the run said
    again = bundle_predict.bundle_probabilities(
        bundle, data.images, data.z, threads=1, compile=False
    )
    assert len(compiled) == 1 and len(bundle.networks) == 2
    np.testing.assert_allclose(again, plain, atol=1e-6)
