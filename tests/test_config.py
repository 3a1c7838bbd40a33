"""The workflow config: every shipped config parses, defaults are filled, mistakes are caught
before anything runs, and the committed JSON schema is the one the models generate."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from saltseg.config import Config, command_line_values, json_schema, workflow_config
from saltseg.errors import SaltsegError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [REPO / "config.yaml", *sorted((REPO / "config").glob("*.yaml"))]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_parses_and_round_trips(path):
    filled = workflow_config(load(path), path.name)
    assert not [k for k in filled if k.startswith("_")]  # anchor holders are dropped
    assert workflow_config(filled, path.name) == filled


def test_cpu_yaml_runs_six_folds_of_stage1_then_a_pretrained_stage2():
    # config/cpu.yaml spends its minutes on six stage-1 folds, one thread each, then one model
    # pretrained on both threads on stage 1's soft pseudo labels of the test tiles and fine-tuned
    # per fold, which alone makes the final blend (measured on real tiles: docs/real_data.md).
    filled = workflow_config(load(REPO / "config" / "cpu.yaml"), "cpu.yaml")
    assert list(filled["stages"]) == ["stage1", "stage2"] and filled["folds"]["n_folds"] == 6
    assert filled["runtime"]["threads"] == 1 and filled["runtime"]["pretrain_threads"] == 2
    assert filled["final"]["blend"] == {"stage2": 1.0}
    stage1 = filled["stages"]["stage1"]["models"]["saltnet_r18"]
    stage2 = filled["stages"]["stage2"]["models"]["saltnet_r18"]
    pseudo = filled["stages"]["stage2"]["pseudo"]
    assert pseudo["from"] == "stage1" and pseudo["soft"] and pseudo["all"]
    assert stage2["mode"] == "pretrain" and stage2["input"] == stage1["input"]
    assert stage2["model"] == stage1["model"]


def test_cpu_yaml_without_stage2_as_its_comment_says_for_slower_cpus():
    # On a CPU where stage 1 alone takes the hour and more, cpu.yaml's comment says to drop
    # stage 2 and blend stage 1 alone: that file must still be a valid config.
    raw = load(REPO / "config" / "cpu.yaml")
    del raw["stages"]["stage2"]
    raw["final"]["blend"] = {"stage1": 1.0}
    filled = workflow_config(raw, "cpu.yaml")
    assert list(filled["stages"]) == ["stage1"]


def test_defaults_are_filled_in():
    raw = {
        "data": {"source": "synthetic"},
        "stages": {
            "stage1": {"models": {"a": {"train": {"phases": [{"loss": {"bce": 1}, "epochs": 1}]}}}}
        },
        "final": {"blend": {"stage1": 1}},
    }
    filled = workflow_config(raw)
    assert filled["runtime"] == {
        "device": "auto", "precision": "auto", "threads": 4, "pretrain_threads": None,
        "tensorboard": False,
    }  # fmt: skip
    assert filled["folds"] == {"n_folds": 5, "method": "depth", "seed": 0}
    assert filled["postprocess"]["mosaic_rules"]["enabled"] is True
    assert filled["mosaic"]["min_ratio"] == 0.25
    assert filled["data"]["synthetic"]["sections"] == 8
    model = filled["stages"]["stage1"]["models"]["a"]
    assert model["predict"]["snapshots"] == "best" and model["pretrain"] is None
    assert filled["stages"]["stage1"]["mode"] == "scratch"
    assert model["mode"] == "scratch"  # a model's mode defaults to its stage's


def test_answers_are_for_real_data_only():
    d = copy.deepcopy(load(REPO / "config" / "test.yaml"))
    d["data"]["answers"] = "answers.csv"
    with pytest.raises(SaltsegError, match="data: answers: the synthetic data brings its own"):
        workflow_config(d, "test.yaml")
    d["data"]["source"] = "data/split"
    assert workflow_config(d)["data"]["answers"] == "answers.csv"


def test_a_model_can_train_in_a_mode_of_its_own():
    # The 1st place's stage 2: model A pretrained on pseudo labels, model B appended them.
    d = copy.deepcopy(load(REPO / "config.yaml"))
    stage2 = workflow_config(d)["stages"]["stage2"]
    modes = {name: m["mode"] for name, m in stage2["models"].items()}
    assert modes == {"unet_resnext50": "pretrain", "saltnet_resnet34": "append"}
    d["stages"]["stage1"]["models"]["saltnet_resnet34"]["mode"] = "append"
    with pytest.raises(SaltsegError, match="models.saltnet_resnet34: mode append needs a pseudo"):
        workflow_config(d, "config.yaml")


def test_refine_needs_the_same_network_in_the_source_stage():
    d = copy.deepcopy(load(REPO / "config" / "test.yaml"))
    d["stages"]["stage2"]["mode"] = "refine"
    assert workflow_config(d)["stages"]["stage2"]["models"]["a"]["mode"] == "refine"
    a = copy.deepcopy(d["stages"]["stage2"]["models"]["a"])  # not the YAML alias of stage 1's
    d["stages"]["stage2"]["models"]["a"] = {**a, "input": {**a["input"], "pad": 64}}
    with pytest.raises(SaltsegError, match="stage2.models.a: mode refine needs the same input"):
        workflow_config(d, "test.yaml")
    d["stages"]["stage2"]["models"] = {"b": d["stages"]["stage3"]["models"]["b"]}
    d["final"]["blend"] = {"stage3": 1.0}
    with pytest.raises(SaltsegError, match="refine starts from stage1's model 'b', which stage1"):
        workflow_config(d, "test.yaml")


def test_committed_schema_is_generated_from_the_models():
    committed = (REPO / "workflow" / "schemas" / "config.schema.json").read_text()
    assert committed == json_schema(), "run: saltseg schema workflow/schemas/config.schema.json"


def with_change(path: str, value, config: str = "test.yaml") -> dict:
    d = copy.deepcopy(load(REPO / "config" / config))
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node[p]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("colour", 1, "unknown key 'colour'"),
        (
            "stages.stage1.models.a.augment.hflp",
            0.5,
            "stages.stage1.models.a.augment.hflp: unknown",
        ),
        ("stages.stage2.pseudo.from", "stage3", "'stage3' is not an earlier stage"),
        ("stages.stage2.pseudo", None, "mode pretrain needs a pseudo section"),
        ("stages.stage3.blend", {"c": 1.0}, "'c' is not a model of this stage"),
        ("stages.stage9", {"models": {}}, "stages.stage9.models: Dictionary should have at least"),
        ("stages.first", {"models": {}}, "stages.first"),
        ("final.blend", {"stage4": 1.0}, "final.blend: 'stage4' names no stage"),
        ("postprocess.mosaic", {"enabled": True}, "postprocess.mosaic: unknown key"),
        ("postprocess.threshold", 1.5, "postprocess.threshold"),
        ("stages.stage3.blend", {"b": 0.0}, "stage's models must have a positive sum"),
        ("final.blend", {"stage2": 0.0}, "final.blend: the weights must have a positive sum"),
        (
            "stages.stage02",
            {"models": {"a": {"train": {"phases": [{"loss": {"bce": 1}, "epochs": 1}]}}}},
            "two stages share a number",
        ),
        ("folds.n_folds", 1, "folds.n_folds: Input should be greater than or equal to 2"),
        ("runtime.device", "tpu", "runtime.device: Input should be 'auto', 'cpu' or 'cuda'"),
        ("mosaic.normalise", "tile", "mosaic.normalise"),
        ("data.synthetic.rows", 0, "data.synthetic.rows"),
    ],
)
def test_mistakes_are_one_line_errors_naming_the_key(path, value, message):
    with pytest.raises(SaltsegError) as info:
        Config.parse(with_change(path, value), "test.yaml")
    assert str(info.value).startswith("test.yaml: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_pretrain_mode_needs_a_pretrain_section():
    d = with_change("stages.stage2.models.a.pretrain", None)
    d["stages"]["stage2"]["models"]["a"] = {
        k: v for k, v in d["stages"]["stage2"]["models"]["a"].items() if k != "pretrain"
    }
    with pytest.raises(SaltsegError, match="model 'a' has no pretrain section"):
        Config.parse(d)


def test_command_line_values_are_typed_as_in_a_config_file():
    raw = {
        "folds": {"n_folds": "2", "seed": "0"},
        "data": {"source": "../tiles", "answers": "null"},
        "stages": {"stage1": {"models": {"m": {"train": {"phases": [{"lr": "1.0e-3"}]}}}}},
        "runtime": {"tensorboard": "True", "threads": 3},
        "name": "stage 2",
    }
    got = command_line_values(raw)
    assert got["folds"] == {"n_folds": 2, "seed": 0}
    assert got["data"] == {"source": "../tiles", "answers": None}
    assert got["stages"]["stage1"]["models"]["m"]["train"]["phases"] == [{"lr": 1e-3}]
    assert got["runtime"] == {"tensorboard": True, "threads": 3} and got["name"] == "stage 2"
