"""Training: outputs, snapshots, phases, early stopping and initialisation from a checkpoint.

Tiny everywhere: a depth-3 ResNet18 U-Net on 32x32 inputs and a dozen tiles.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from saltseg.errors import SaltsegError
from saltseg.nn.checkpoint import load_checkpoint
from saltseg.nn.device import resolve_compute
from saltseg.nn.feed import tile_weights, train_loader
from saltseg.nn.geometry import Geometry
from saltseg.nn.history import COLUMNS
from saltseg.nn.network import build_model
from saltseg.nn.outputs import Outputs
from saltseg.nn.predict import predict
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec, OptimizerSpec
from saltseg.nn.train import loss_grid, make_ema, make_optimizer, train

ADAM = {"name": "adam", "lr": 1.0e-3}


def tiny_spec(phases: list[dict] | None = None, **sections) -> ModelSpec:
    d = {
        "model": {
            "arch": "Unet",
            "encoder": "resnet18",
            "encoder_weights": None,
            "encoder_depth": 3,
            "decoder_channels": [16, 16, 16],
            "decoder_attention": "scse",
        },
        "input": {"resize": 32, "pad": 32, "channels": ["image", "ramp"]},
        "augment": {"hflip": 0.5, "brightness": 0.1, "contrast": 0.1},
        "train": {
            "batch_size": 4,
            "phases": phases
            or [{"name": "a", "loss": {"bce": 1.0}, "optimizer": ADAM, "epochs": 1}],
        },
    }
    for key, value in sections.items():
        d[key] = value
    return ModelSpec.from_dict(d)


def tiles(n: int, seed: int = 0) -> Samples:
    """Salt below a wavy line, brighter than the sediment above; every third tile empty."""
    rng = np.random.default_rng(seed)
    images = rng.integers(40, 120, (n, 101, 101), dtype=np.uint8)
    masks = np.zeros((n, 101, 101), dtype=bool)
    cols = np.arange(101)
    for i in range(n):
        if i % 3 == 2:
            continue
        top = (50 + 20 * np.sin(cols / 15 + i)).astype(int)
        masks[i] = np.arange(101)[:, None] >= top[None, :]
    images[masks] += 100
    return Samples(images=images, masks=masks, z=rng.uniform(50, 950, n).astype(np.float32))


def run(tmp_path, spec, train_set=None, val_set=None, name="m", **kw) -> pd.DataFrame:
    return train(
        spec,
        train_set if train_set is not None else tiles(12),
        val_set,
        tmp_path / f"{name}.pt",
        tmp_path / f"{name}.csv",
        tmp_path / f"{name}.png",
        threads=1,
        **kw,
    )


def snapshots(path) -> dict:
    return torch.load(path, weights_only=True)["snapshots"]


def test_train_writes_checkpoint_history_and_curves(tmp_path):
    phases = [
        {
            "name": "warm",
            "loss": {"bce": 1.0, "dice": 1.0},
            "optimizer": ADAM,
            "schedule": {"name": "cosine", "cycles": 2, "min_lr": 1.0e-5},
            "epochs": 4,
        },
        {
            "name": "hinge",
            "loss": {"lovasz_elu": 1.0},
            "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4},
            "epochs": 1,
        },
    ]
    spec = tiny_spec(phases, predict={"snapshots": "cycles", "tta": []})
    history = run(tmp_path, spec, val_set=tiles(5, seed=1))
    assert list(history.columns) == COLUMNS
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert history["phase"].tolist() == ["warm"] * 4 + ["hinge"]
    assert history["val_metric"].between(0, 1).all() and history["val_loss"].notna().all()
    assert (history["images_per_s"] > 0).all() and np.isfinite(history["train_loss"]).all()
    # Mean lr per epoch: decays within each 2-epoch cosine cycle, restarts at the next one.
    lr = history["lr"].tolist()
    assert lr[1] < lr[0] and lr[2] > lr[1] and lr[3] < lr[2] and lr[4] == pytest.approx(0.01)
    on_disk = pd.read_csv(tmp_path / "m.csv")
    assert on_disk["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert on_disk["val_metric"].to_numpy() == pytest.approx(history["val_metric"].to_numpy())
    assert cv2.imread(str(tmp_path / "m.png")) is not None
    ckpt = torch.load(tmp_path / "m.pt", weights_only=True)
    assert set(ckpt["snapshots"]) == {"cycle1_1", "cycle1_2", "final", "best"}
    assert ckpt["in_channels"] == 2
    assert ModelSpec.from_dict(ckpt["spec"]) == spec
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp files left


def test_without_validation_best_is_final_and_runs_repeat(tmp_path):
    spec = tiny_spec()
    first = run(tmp_path, spec, name="a")
    second = run(tmp_path, spec, name="b")
    assert first["val_metric"].isna().all()
    assert first["train_loss"].tolist() == second["train_loss"].tolist()  # seeded
    # The same training gives the same checkpoint file, byte for byte.
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    snaps = snapshots(tmp_path / "a.pt")
    assert set(snaps) == {"best", "final"}
    assert all(torch.equal(snaps["best"][k], snaps["final"][k]) for k in snaps["final"])


def test_early_stopping_stops_and_restores_the_phase_best(tmp_path):
    phases = [
        {
            "name": "still",
            "loss": {"bce": 1.0},
            "optimizer": {"name": "sgd", "lr": 1e-9},  # the metric barely moves
            "epochs": 8,
            "early_stopping": 1,
        }
    ]
    history = run(tmp_path, tiny_spec(phases, augment=None), val_set=tiles(6, seed=2))
    assert len(history) < 8
    best_epoch = int(history["val_metric"].to_numpy().argmax())
    assert len(history) - 1 - best_epoch == 1  # stopped one epoch after the best
    snaps = snapshots(tmp_path / "m.pt")
    assert all(torch.equal(snaps["best"][k], snaps["final"][k]) for k in snaps["final"])


def test_validate_every_skips_epochs_but_always_validates_a_phase_end(tmp_path):
    phases = [
        {"name": "a", "loss": {"bce": 1.0}, "optimizer": ADAM, "epochs": 5},
        {"name": "b", "loss": {"bce": 1.0}, "optimizer": ADAM, "epochs": 2},
    ]
    spec = tiny_spec(phases)
    spec = spec.model_copy(update={"train": spec.train.model_copy(update={"validate_every": 2})})
    history = run(tmp_path, spec, val_set=tiles(5, seed=1), name="sparse")
    validated = history.loc[history["val_metric"].notna(), "epoch"].tolist()
    assert validated == [2, 4, 5, 7]  # phase a: 2, 4 and its end; phase b: its end
    assert history["val_loss"].notna().tolist() == history["val_metric"].notna().tolist()
    # Training itself is the same as with a validation every epoch (same seed, same batches).
    every = run(tmp_path, tiny_spec(phases), val_set=tiles(5, seed=1), name="every")
    assert history["train_loss"].tolist() == pytest.approx(every["train_loss"].tolist())
    assert cv2.imread(str(tmp_path / "sparse.png")) is not None


def test_init_from_another_checkpoint(tmp_path):
    spec = tiny_spec()
    run(tmp_path, spec, name="pre")
    still = [{"name": "ft", "loss": {"lovasz": 1.0}, "optimizer": {"name": "sgd", "lr": 1e-12},
              "epochs": 1}]  # fmt: skip
    run(tmp_path, tiny_spec(still), name="ft", init_checkpoint=tmp_path / "pre.pt")
    run(tmp_path, tiny_spec(still), name="fresh")
    pre, ft, fresh = (snapshots(tmp_path / f"{n}.pt")["final"] for n in ("pre", "ft", "fresh"))
    weights = [k for k in pre if k.endswith("weight") and pre[k].ndim == 4]
    assert all(torch.allclose(pre[k], ft[k], atol=1e-6) for k in weights)
    assert not all(torch.allclose(pre[k], fresh[k], atol=1e-6) for k in weights)


def test_init_checkpoint_must_match(tmp_path):
    run(tmp_path, tiny_spec(), name="pre")
    other = tiny_spec(input={"resize": 32, "pad": 32, "channels": ["image"]})
    with pytest.raises(SaltsegError, match="has 2 input channels"):
        run(tmp_path, other, init_checkpoint=tmp_path / "pre.pt")
    spec = tiny_spec()
    spec = spec.model_copy(update={"model": spec.model.model_copy(update={"encoder": "resnet34"})})
    with pytest.raises(SaltsegError, match="model.encoder is 'resnet18'"):
        run(tmp_path, spec, init_checkpoint=tmp_path / "pre.pt")
    with pytest.raises(SaltsegError, match="no snapshot 'cycle1_1'"):
        run(tmp_path, tiny_spec(), init_checkpoint=tmp_path / "pre.pt", init_snapshot="cycle1_1")
    assert not (tmp_path / "m.pt").exists()


def test_plateau_schedule_only_lowers_the_lr(tmp_path):
    phases = [
        {
            "name": "p",
            "loss": {"dice": 1.0},
            "optimizer": {"name": "rmsprop", "lr": 1e-3},
            "schedule": {"name": "plateau", "factor": 0.5, "patience": 0},
            "epochs": 3,
        }
    ]
    lr = run(tmp_path, tiny_spec(phases), val_set=tiles(3, seed=3))["lr"].to_numpy()
    assert lr[0] == pytest.approx(1e-3) and (np.diff(lr) <= 0).all()


def test_adamw_decays_the_weights_but_not_biases_or_norm_scales():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4))
    spec = OptimizerSpec.parse({"name": "adamw", "lr": 0.1, "weight_decay": 0.5}, "optimizer")
    optimizer = make_optimizer(model, spec)
    before = {k: v.clone() for k, v in model.named_parameters()}
    for p in model.parameters():  # no gradient signal: only the decay moves anything
        p.grad = torch.zeros_like(p)
    optimizer.step()
    after = dict(model.named_parameters())
    torch.testing.assert_close(after["0.weight"], before["0.weight"] * (1 - 0.1 * 0.5))
    for name in ("0.bias", "1.weight", "1.bias"):
        torch.testing.assert_close(after[name], before[name])


def test_training_needs_masks(tmp_path):
    data = tiles(4)
    with pytest.raises(SaltsegError, match="no masks"):
        run(tmp_path, tiny_spec(), train_set=Samples(data.images, None, data.z))
    with pytest.raises(SaltsegError, match="depths contain NaN"):
        Samples(data.images, data.masks, np.full(4, np.nan))


def test_soft_masks_train_and_reach_the_loss_as_probabilities(tmp_path):
    data = tiles(8)
    soft = np.where(data.masks, 0.9, 0.05).astype(np.float32)
    soft_set = Samples(data.images, soft, data.z)
    assert soft_set.soft and not data.soft
    spec = tiny_spec(augment={"hflip": 0.0})
    _, masks, _ = next(iter(train_loader(soft_set, spec, resolve_compute("cpu", 1), seed=0)))
    assert masks.dtype == torch.float32
    near = [torch.isclose(masks, torch.tensor(p)) for p in (0.9, 0.05)]
    assert (near[0] | near[1]).all()
    history = run(tmp_path, spec, train_set=soft_set, val_set=tiles(3, seed=1))
    assert np.isfinite(history["train_loss"]).all() and history["val_metric"].notna().all()
    # Out of [0, 1] they are refused.
    with pytest.raises(SaltsegError, match=r"soft masks must be probabilities in \[0, 1\]"):
        Samples(data.images, soft * 2, data.z)


def test_worker_processes_give_the_same_kind_of_batches(tmp_path):
    spec = tiny_spec([{"name": "a", "loss": {"bce": 1.0}, "optimizer": ADAM, "epochs": 2}])
    spec = spec.model_copy(update={"train": spec.train.model_copy(update={"num_workers": 1})})
    history = run(tmp_path, spec, train_set=tiles(8))
    assert len(history) == 2 and np.isfinite(history["train_loss"]).all()


def test_a_failed_run_leaves_no_outputs(tmp_path):
    phases = [{"name": "boom", "loss": {"bce": 1.0}, "optimizer": {"name": "sgd", "lr": 1e30},
               "epochs": 3}]  # fmt: skip
    with pytest.raises(SaltsegError, match="diverged"):
        run(tmp_path, tiny_spec(phases), val_set=tiles(3))
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "m.csv").exists()
    assert (tmp_path / "m.csv.partial").exists()  # kept for diagnosis
    run(tmp_path, tiny_spec(), val_set=tiles(3))  # a later run that succeeds removes it
    assert (tmp_path / "m.csv").exists() and not (tmp_path / "m.csv.partial").exists()


def test_bf16_training_the_gpu_path_on_the_cpu(tmp_path):
    # bf16 autocast + channels_last, as on a GPU: losses stay finite and fall, the checkpoint
    # holds float32 weights that a float32 model loads.
    phases = [{"name": "a", "loss": {"bce": 1.0, "dice": 1.0}, "optimizer": ADAM, "epochs": 4}]
    spec = tiny_spec(phases, augment={})
    history = run(tmp_path, spec, val_set=tiles(5, seed=1), precision="bf16")
    losses = history["train_loss"].to_numpy()
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert history["val_metric"].between(0, 1).all()
    snaps = snapshots(tmp_path / "m.pt")
    assert all(v.dtype != torch.bfloat16 for v in snaps["final"].values())
    model = build_model(spec.model, spec.in_channels, pretrained=False)
    model.load_state_dict(snaps["final"])


def test_saltnet_with_deep_supervision_trains_and_its_image_head_empties_masks(tmp_path):
    saltnet = {
        "arch": "SaltNet", "encoder": "resnet18", "encoder_weights": None, "encoder_depth": 3,
        "decoder_channels": [16, 16, 16], "encoder_attention": "scse", "center": "fpa",
        "hypercolumn": True, "deep_supervision": True,
    }  # fmt: skip
    phases = [{"name": "a", "loss": {"lovasz_elu": 1.0}, "optimizer": ADAM, "epochs": 2}]
    spec = tiny_spec(phases, model=saltnet)
    history = run(tmp_path, spec, val_set=tiles(6, seed=1))
    assert np.isfinite(history["train_loss"]).all() and len(history) == 2
    data = tiles(3)
    probs = predict(tmp_path / "m.pt", data, threads=1, snapshots="final", tta=[])
    assert probs.shape == (3, 101, 101) and probs.max() > 0
    # The image head's probability is below 1 for every tile: threshold 1 empties them all.
    emptied = predict(
        tmp_path / "m.pt", data, threads=1, snapshots="final", classifier_threshold=1.0
    )
    assert emptied.max() == 0.0


def test_tensorboard_events_hold_the_history(tmp_path):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    history = run(tmp_path, tiny_spec(), val_set=tiles(3), tensorboard=tmp_path / "tb")
    events = accumulator.EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"loss/train", "loss/validation", "metric/validation", "learning_rate"} <= set(
        events.Tags()["scalars"]
    )
    metric = [e.value for e in events.Scalars("metric/validation")]
    assert metric == pytest.approx(history["val_metric"].tolist())


def test_loss_at_tile_maps_the_logits_back_to_the_true_masks():
    spec = tiny_spec(input={"resize": 56, "pad": 64, "channels": ["image"]})
    geometry = Geometry(pad=64, resize=56)
    masks = torch.from_numpy(tiles(3).masks)
    logits = torch.randn(3, 1, 64, 64)
    deep = (torch.randn(3, 1, 64, 64),)
    outputs = Outputs(logits, torch.randn(3, 1), deep)
    on_net, target = loss_grid(outputs, masks, geometry, spec)
    assert on_net is outputs
    assert torch.equal(target, geometry.mask_to_network(masks.unsqueeze(1)))
    tile_spec = spec.model_copy(update={"train": spec.train.model_copy(update={"loss_at": "tile"})})
    on_tile, target = loss_grid(outputs, masks, geometry, tile_spec)
    assert target.shape == (3, 1, 101, 101) and torch.equal(target.bool()[:, 0], masks)
    assert torch.equal(on_tile.mask, geometry.from_network(logits))
    assert torch.equal(on_tile.deep[0], geometry.from_network(deep[0]))
    assert on_tile.image is outputs.image
    # The truth's own round trip through 56 px is not the truth: a network that reproduces the
    # network-grid target exactly has no BCE left there, but some on the tile.
    perfect = 30 * (2 * geometry.mask_to_network(masks.unsqueeze(1)) - 1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert float(bce(perfect, geometry.mask_to_network(masks.unsqueeze(1)))) < 1e-6
    assert float(bce(geometry.from_network(perfect), masks.unsqueeze(1).float())) > 0.01


def test_training_with_the_loss_on_the_tile(tmp_path):
    spec = tiny_spec(train={
        "batch_size": 4, "loss_at": "tile",
        "phases": [{"name": "a", "loss": {"bce": 1.0, "lovasz_elu": 1.0}, "optimizer": ADAM,
                    "epochs": 2}],
    })  # fmt: skip
    history = run(tmp_path, spec, val_set=tiles(5, seed=1))
    assert np.isfinite(history["val_loss"]).all() and np.isfinite(history["train_loss"]).all()
    # The checkpoint remembers it, so that prediction maps the logits back as the loss did.
    saved = load_checkpoint(tmp_path / "m.pt").spec
    assert saved.train.loss_at == "tile" and Geometry.of_model(saved).map_logits
    with pytest.raises(SaltsegError, match="loss_at"):
        ModelSpec.from_dict({**spec.to_dict(), "train": {**spec.to_dict()["train"],
                                                         "loss_at": "grid"}})  # fmt: skip


def test_the_moving_average_follows_weights_and_batchnorm_statistics():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = make_ema(model, 0.9)
    weight, stats = model[0].weight.detach().clone(), model[1].running_mean.clone()
    ema.update_parameters(model)  # the first update copies
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model(torch.randn(8, 2))  # moves the running statistics
    ema.update_parameters(model)
    assert torch.allclose(ema.module[0].weight, 0.9 * weight + 0.1 * model[0].weight)
    assert torch.allclose(ema.module[1].running_mean, 0.9 * stats + 0.1 * model[1].running_mean)
    assert make_ema(model, None) is None


def test_training_with_a_moving_average_saves_and_predicts_its_snapshot(tmp_path, caplog):
    caplog.set_level("INFO", logger="saltseg")
    phases = [{"name": "a", "loss": {"bce": 1.0}, "optimizer": ADAM, "epochs": 2}]
    plain = tiny_spec(phases)
    spec = tiny_spec(
        phases, train={"batch_size": 4, "ema": 0.5, "phases": phases}, predict={"snapshots": "ema"}
    )
    run(tmp_path, plain, name="plain")
    run(tmp_path, spec, val_set=tiles(5, seed=1), name="ema")
    assert "moving average (ema)" in caplog.text
    with_ema, without = snapshots(tmp_path / "ema.pt"), snapshots(tmp_path / "plain.pt")
    assert "ema" in with_ema and "ema" not in without
    # The average does not steer training: the final weights are those of the plain run.
    assert all(torch.equal(with_ema["final"][k], without["final"][k]) for k in without["final"])
    changed = [
        k for k in with_ema["final"] if not torch.equal(with_ema["ema"][k], with_ema["final"][k])
    ]
    assert any("decoder" in k for k in changed) and any("running_mean" in k for k in changed)
    probs = predict(tmp_path / "ema.pt", tiles(3, seed=2), threads=1)
    final = predict(tmp_path / "ema.pt", tiles(3, seed=2), threads=1, snapshots="final")
    assert probs.shape == (3, 101, 101) and not np.allclose(probs, final)
    with pytest.raises(SaltsegError, match="'ema' needs train.ema"):
        tiny_spec(phases, predict={"snapshots": ["final", "ema"]})
    with pytest.raises(SaltsegError, match="ema"):
        tiny_spec(phases, train={"ema": 1.0, "phases": phases})


def test_tile_weights_favour_tiles_with_a_little_salt():
    masks = np.zeros((4, 101, 101), dtype=bool)
    masks[1, :1, :50] = True  # 0.5% salt
    masks[2, :10] = True  # 9.9%
    masks[3] = True  # all salt
    assert tile_weights(masks, below=0.05, weight=3.0).tolist() == [1.0, 3.0, 1.0, 1.0]
    assert tile_weights(masks, below=0.5, weight=2.0).tolist() == [1.0, 2.0, 2.0, 1.0]


def test_small_salt_tiles_are_drawn_more_often_and_epochs_keep_their_length():
    data = tiles(12)
    small = np.zeros(12, dtype=bool)
    small[[0, 1, 2]] = True
    for i in np.flatnonzero(small):  # a corner of salt: under 5% of the tile
        data.masks[i] = False
        data.masks[i, :10, :10] = True
    spec = tiny_spec(train={"batch_size": 4, "small_salt": {"below": 0.05, "weight": 4.0},
                            "phases": tiny_spec().train.model_dump()["phases"]})  # fmt: skip
    loader = train_loader(data, spec, resolve_compute("cpu", 1), seed=0)
    draws = np.concatenate([list(loader.sampler) for _ in range(300)])
    assert len(list(loader.sampler)) == 12
    share = np.isin(draws, np.flatnonzero(small)).mean()
    assert share == pytest.approx(12 / 21, abs=0.03)  # weights 3 x 4 against 9 x 1
    plain = train_loader(data, tiny_spec(), resolve_compute("cpu", 1), seed=0)
    assert sorted(plain.sampler) == list(range(12))  # each tile once per epoch
