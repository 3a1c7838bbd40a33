"""The workflow config: one schema, composed from the sections the code defines, with defaults.

``Config.parse`` validates ``config.yaml`` (or any ``--configfile``) before anything runs, so
``snakemake -n`` rejects what a job would reject; :func:`workflow_config` is what the Snakefile
uses: the validated config with every default filled in. The JSON schema in
``workflow/schemas/config.schema.json`` is generated from these models (``saltseg schema``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator

from saltseg.data.folds import FoldsScheme
from saltseg.mosaic.assemble import MosaicOptions
from saltseg.nn.spec import DEVICES, PRECISIONS, SHAPE_KEYS, ModelSpec, TrainSpec
from saltseg.options import Bool, Int, Number, Options, choice
from saltseg.postprocess import PostprocessConfig
from saltseg.pseudo import PseudoConfig
from saltseg.synth.generate import SynthOptions

_STAGE, _MODEL = "stage[0-9]+", "[A-Za-z0-9][A-Za-z0-9_-]*"
StageName = Annotated[str, StringConstraints(pattern=f"^{_STAGE}$")]
ModelName = Annotated[str, StringConstraints(pattern=f"^{_MODEL}$")]
# a stage's blend ("stage2") or one model's fold average ("stage2/b")
BlendName = Annotated[str, StringConstraints(pattern=f"^{_STAGE}(/{_MODEL})?$")]
Weight = Annotated[Number, Field(ge=0.0)]
# how a stage's folds train (see StageConfig)
MODES = ("scratch", "pretrain", "append", "refine")


class DataConfig(Options):
    source: str = Field(description='a Kaggle-layout folder, or "synthetic"')
    # The test tiles' masks (id,rle_mask), e.g. the answers.csv of `saltseg split`: the
    # submission is scored and each post-processing rule measured (the synthetic data's own),
    # on the tiles it answers (all of them, or part: `saltseg split --keep-unlabelled`).
    answers: str | None = None
    synthetic: SynthOptions = SynthOptions()

    @model_validator(mode="after")
    def _answers_for_real_data(self) -> DataConfig:
        if self.answers is not None and self.source == "synthetic":
            raise ValueError("answers: the synthetic data brings its own; leave it out")
        return self


class RuntimeConfig(Options):
    device: choice(*DEVICES) = "auto"  # auto: cuda when available
    # auto: bf16 autocast where the hardware has it natively (Ampere+ GPUs, CPUs with AMX)
    precision: choice(*PRECISIONS) = "auto"
    threads: Annotated[Int, Field(ge=1)] = 4  # CPU threads per training/prediction job
    # CPU threads of pretrain_on_pseudo (None: threads). It runs while nothing else of its
    # stage can, so on the CPU it may take every core where fold jobs take one each.
    pretrain_threads: Annotated[Int, Field(ge=1)] | None = None
    # TensorBoard event files of every training job in results/tensorboard/<stage>/<model>/...
    tensorboard: Bool = False


class ClusterConfig(Options):
    """Where cluster executors (SLURM) send the jobs. Not a params of any rule: changing it
    re-runs nothing. Unset, a job goes to the cluster's default partition (or to what the
    profile's default-resources say)."""

    partition: str | None = None  # every CPU job
    gpu_partition: str | None = None  # train_fold, pretrain_on_pseudo, predict_fold; else partition


class PredictConfig(Options):
    """``snakemake predict``: masks for new tiles from the run's bundle, in
    results/predict/<name of source>/ (no training re-runs when the run is done)."""

    source: str | None = None  # a folder of 101x101 PNG tiles, a Kaggle-layout folder, or .npy


class StagePseudo(PseudoConfig):
    """A stage's pseudo labels: from the blended test predictions of the stage ``from``."""

    source: StageName = Field(alias="from")


class AppendPseudo(Options):
    max_images: Annotated[Int, Field(ge=1)] | None = None  # a seeded random subset


class ModelConfig(ModelSpec):
    """A model family of a stage: its spec, how its folds train (the stage's ``mode`` unless it
    says otherwise), and the pretraining run of ``mode: pretrain``."""

    mode: choice(*MODES) | None = None
    pretrain: TrainSpec | None = None


class StageConfig(Options):
    # scratch: train each fold from the spec; pretrain: pretrain on the stage's pseudo labels,
    # then fine-tune each fold from that weight; append: add pseudo labels to each fold's
    # training set and train from scratch; refine: add them too, but start each fold from the
    # final snapshot of the same model's same fold of the pseudo labels' source stage (a short
    # second schedule: the CPU recipe's stage 2). The default of the stage's models (the 1st
    # place's stage 2 pretrained model A and appended pseudo labels to model B).
    mode: choice(*MODES) = "scratch"
    pseudo: StagePseudo | None = None
    append_pseudo: AppendPseudo = AppendPseudo()
    models: Annotated[dict[ModelName, ModelConfig], Field(min_length=1)]
    blend: dict[str, Weight] | None = None  # by model; equal weights when left out

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        # Equal blend weights and each model's mode (its own or the stage's) are filled in here,
        # once, so the workflow reads them as given.
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, dict):
            return data
        if data.get("blend") is None:
            data = {**data, "blend": dict.fromkeys(models, 1.0)}
        mode = data.get("mode", "scratch")
        models = {
            name: {**m, "mode": m.get("mode") or mode} if isinstance(m, dict) else m
            for name, m in models.items()
        }
        return {**data, "models": models}

    @model_validator(mode="after")
    def _consistent(self) -> StageConfig:
        for name, model in self.models.items():
            if model.mode != "scratch" and self.pseudo is None:
                raise ValueError(
                    f"models.{name}: mode {model.mode} needs a pseudo section "
                    "(pseudo: {from: ...})"
                )
            if model.mode == "pretrain" and model.pretrain is None:
                raise ValueError(f"mode pretrain: model {name!r} has no pretrain section")
        unknown = sorted(set(self.blend) - set(self.models))
        if unknown:
            raise ValueError(f"blend: {unknown[0]!r} is not a model of this stage")
        if not sum(self.blend.get(m, 0.0) for m in self.models) > 0:
            raise ValueError("blend: the weights of the stage's models must have a positive sum")
        return self


class FinalConfig(Options):
    # by stage ("stage2": its blend) or "stage/model" (one model's fold average)
    blend: Annotated[dict[BlendName, Weight], Field(min_length=1)]

    @field_validator("blend")
    @classmethod
    def _positive(cls, blend: dict[str, float]) -> dict[str, float]:
        if not sum(blend.values()) > 0:
            raise ValueError("the weights must have a positive sum")
        return blend


class Config(Options):
    """The whole workflow config; keys starting with "_" only hold YAML anchors."""

    model_config = Options.model_config | {"extra": "allow"}

    data: DataConfig
    runtime: RuntimeConfig = RuntimeConfig()
    cluster: ClusterConfig = ClusterConfig()
    folds: FoldsScheme = FoldsScheme()
    stages: Annotated[dict[StageName, StageConfig], Field(min_length=1)]
    final: FinalConfig
    mosaic: MosaicOptions = MosaicOptions()  # assembling the tiles into mosaics
    postprocess: PostprocessConfig = PostprocessConfig()
    predict: PredictConfig = PredictConfig()

    @model_validator(mode="after")
    def _references(self) -> Config:
        for key in self.model_extra or {}:
            if not key.startswith("_"):
                raise ValueError(f"unknown key {key!r}")
        order = stage_order(self.stages)
        numbers = [int(s.removeprefix("stage")) for s in order]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"stages: two stages share a number: {', '.join(order)}")
        for stage, cfg in self.stages.items():
            if cfg.pseudo is not None and (
                cfg.pseudo.source not in self.stages
                or order.index(cfg.pseudo.source) >= order.index(stage)
            ):
                raise ValueError(
                    f"stages.{stage}.pseudo.from: {cfg.pseudo.source!r} is not an earlier stage"
                )
        for stage, cfg in self.stages.items():
            for name, model in cfg.models.items():
                if model.mode == "refine":
                    _check_refine(stage, name, model, self.stages[cfg.pseudo.source], cfg)
        for name in self.final.blend:
            stage, _, model = name.partition("/")
            if stage not in self.stages or (model and model not in self.stages[stage].models):
                raise ValueError(f"final.blend: {name!r} names no stage or stage/model")
        return self

    def dump(self) -> dict[str, Any]:
        """Every setting, defaults included, without the anchor holders."""
        out = self.to_dict()
        return {k: v for k, v in out.items() if not k.startswith("_")}


def _check_refine(
    stage: str, name: str, model: ModelConfig, source: StageConfig, cfg: StageConfig
) -> None:
    """A refined fold model starts from the source stage's fold model of the same name, so
    that one must exist with the same network and input."""
    where = f"stages.{stage}.models.{name}"
    origin = cfg.pseudo.source
    if name not in source.models:
        raise ValueError(f"{where}: mode refine starts from {origin}'s model {name!r}, which "
                         f"{origin} does not have")  # fmt: skip
    theirs = source.models[name]
    for key in SHAPE_KEYS:
        if getattr(theirs.model, key) != getattr(model.model, key):
            raise ValueError(
                f"{where}: mode refine needs the same model.{key} as {origin}'s {name!r}"
            )
    if theirs.input != model.input:
        raise ValueError(
            f"{where}: mode refine needs the same input section as {origin}'s {name!r}"
        )


def stage_order(stages: Any) -> list[str]:
    """Stage names in their natural order (stage2 before stage10)."""
    return sorted(stages, key=lambda name: int(name.removeprefix("stage")))


def command_line_values(value: Any) -> Any:
    """Numbers, booleans and nulls inside ``--config`` values, typed as in a config file.

    Snakemake parses ``--config "folds={'n_folds': 2}"`` with YAML's base loader, which keeps
    every nested scalar a string ('2'); the schema wants 2. Top-level values it types itself."""
    if isinstance(value, dict):
        return {k: command_line_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [command_line_values(v) for v in value]
    if not isinstance(value, str):
        return value
    for parse in (int, float):
        try:
            return parse(value)
        except ValueError:
            pass
    words = {"true": True, "false": False, "null": None, "~": None}
    return words.get(value.strip().lower(), value)


def workflow_config(raw: dict, source: str = "config") -> dict[str, Any]:
    """The validated config with defaults filled in; one-line SaltsegError otherwise."""
    return Config.parse(raw, source).dump()


def json_schema() -> str:
    """The JSON schema of the workflow config, generated from the models."""
    schema = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    # Anchor holders ("_augment: &augment") are the only extra keys allowed.
    schema["additionalProperties"] = False
    schema["patternProperties"] = {"^_": {"description": "holds a YAML anchor; ignored"}}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
