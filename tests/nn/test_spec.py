"""Model spec parsing: defaults, round trip, and one clear error per kind of mistake."""

from __future__ import annotations

import copy

import pytest

from saltseg.errors import SaltsegError
from saltseg.nn.spec import ModelSpec

FULL = {
    "model": {
        "arch": "Unet",
        "encoder": "resnet34",
        "encoder_weights": None,
        "encoder_depth": 5,
        "decoder_channels": [256, 128, 64, 32, 16],
        "decoder_attention": "scse",
        "classifier_head": False,
        "classifier_weight": 0.1,
    },
    "input": {"resize": None, "pad": 128, "channels": ["image"]},
    "augment": {
        "hflip": 0.5,
        "brightness": 0.2,
        "contrast": 0.2,
        "shift_scale": {"p": 0.5, "shift": 0.0625, "scale": 0.1, "rotate": 0},
    },
    "train": {
        "batch_size": 32,
        "phases": [
            {
                "name": "bce_dice",
                "loss": {"bce": 1.0, "dice": 1.0},
                "optimizer": {"name": "adam", "lr": 1.0e-3, "momentum": 0.9, "weight_decay": 0.0},
                "schedule": {"name": "cosine", "cycles": 2, "min_lr": 1.0e-5},
                "epochs": 10,
                "early_stopping": None,
            },
            {
                "name": "lovasz",
                "loss": {"lovasz": 1.0},
                "optimizer": {"name": "sgd", "lr": 0.01},
                "schedule": {"name": "plateau", "factor": 0.5, "patience": 3},
                "epochs": 4,
                "early_stopping": 2,
            },
        ],
    },
    "predict": {"batch_size": 64, "tta": ["hflip"], "snapshots": "cycles"},
}


def with_change(path: str, value) -> dict:
    d = copy.deepcopy(FULL)
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[last] = value
    return d


def test_contract_example_parses_and_round_trips():
    spec = ModelSpec.from_dict(FULL)
    assert spec.model.decoder_attention == "scse"
    assert spec.train.phases[0].schedule.cycles == 2
    assert spec.train.phases[1].early_stopping == 2
    assert spec.in_channels == 1
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.to_dict() == spec.to_dict()


def test_defaults_fill_missing_sections():
    spec = ModelSpec.from_dict({"train": {"phases": [{"loss": {"bce": 1}, "epochs": 1}]}})
    assert spec.model.arch == "Unet"
    assert spec.input.pad == 128
    assert spec.augment.hflip == 0.5
    assert spec.train.phases[0].name == "phase1"
    assert spec.predict.snapshots == "best"


def test_augment_null_switches_augmentation_off():
    spec = ModelSpec.from_dict({**FULL, "augment": None})
    assert spec.augment.hflip == 0 and spec.augment.shift_scale is None
    assert ModelSpec.from_dict(spec.to_dict()) == spec


def test_yaml_style_exponent_strings_are_numbers():
    spec = ModelSpec.from_dict(with_change("train.phases.0.optimizer.lr", "1e-3"))
    assert spec.train.phases[0].optimizer.lr == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("model.colour", 1, "model.colour: unknown key"),
        ("model.arch", "Unett", "model.arch: Input should be 'SaltNet', 'Unet'"),
        ("model.encoder_weights", "ssl", "model.encoder_weights: Input should be 'imagenet'"),
        ("model.decoder_channels", [64, 32], "has 2 entries for encoder_depth 5"),
        ("model.decoder_channels", [64, 0, 1, 1, 1], "decoder_channels[1]: Input should be"),
        ("model.classifier_head", 1, "model.classifier_head: Input should be a valid boolean"),
        ("input.channels", ["image", "colour"], "input.channels[1]: Input should be 'image'"),
        ("input.channels", ["image", "image"], "input.channels: duplicates"),
        ("input.pad", 100, "input: pad 100 is smaller than the resized tile"),
        ("input.pad", 120, "input.pad: 120 is not a multiple of 32"),
        ("augment.vflip", 0.5, "vertical flips are not supported"),
        ("augment.hflip", 2, "augment.hflip: Input should be less than or equal to 1"),
        ("augment.hflip", True, "augment.hflip: expected a number, got True"),
        ("train.phases.0.loss", {"focal": 1.0}, "unknown loss 'focal'"),
        ("train.phases.0.loss", {"bce": 0.0}, "all weights are zero"),
        ("train.phases.0.optimizer.name", "lbfgs", "optimizer.name: Input should be 'sgd'"),
        ("train.phases.0.optimizer.lr", float("inf"), "optimizer.lr: must be finite"),
        ("train.phases.0.schedule", {"name": "cosine", "cycles": 3}, "do not split into 3"),
        ("train.phases.0.schedule", {"name": "constant", "cycles": 3}, "unknown key 'cycles'"),
        ("train.phases.0.epochs", 0, "epochs: Input should be greater than or equal to 1"),
        ("train.phases.0.epochs", 1.5, "epochs: Input should be a valid integer"),
        ("train.phases.1.name", "bce_dice", "phase names must be unique"),
        ("train.phases", [], "train.phases: List should have at least 1 item"),
        ("predict.tta", ["vflip"], "predict.tta[0]: Input should be 'hflip'"),
        ("predict.snapshots", "some", "predict.snapshots: Input should be 'best'"),
        ("predict.snapshots", ["a", "a"], "predict.snapshots: duplicates"),
        ("predict.classifier_threshold", 0.5, "the network has no image head"),
        ("predict.classifier_threshold", "best", "classifier_threshold"),
    ],
)
def test_errors_name_the_key_and_the_problem(path, value, message):
    with pytest.raises(SaltsegError, match="config.yaml: ") as info:
        ModelSpec.from_dict(with_change(path, value), source="config.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_train_section_is_reported():
    with pytest.raises(SaltsegError, match="train: required but missing"):
        ModelSpec.from_dict({"model": {"arch": "Unet"}})


def test_names_are_case_insensitive_and_schedules_keep_their_own_keys():
    spec = ModelSpec.from_dict(with_change("model.arch", "unet"))
    assert spec.model.arch == "Unet"
    spec = ModelSpec.from_dict(with_change("train.phases.0.optimizer.name", "Adam"))
    assert spec.train.phases[0].optimizer.name == "adam"
    schedules = [p["schedule"] for p in ModelSpec.from_dict(FULL).to_dict()["train"]["phases"]]
    assert schedules[0] == {"name": "cosine", "cycles": 2, "min_lr": 1e-5}
    assert set(schedules[1]) == {"name", "factor", "patience", "min_lr"}
