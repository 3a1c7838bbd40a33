# Helpers for the Snakefile: config validation, stage/model/fold enumeration, per-rule params.
import logging
import os
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")


def canonical(value):
    """Config values with sorted keys, recursively."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


# Snakemake compares params as text: with sorted keys, reordering a config file (or a YAML dump
# that sorts keys) is not mistaken for a change that re-runs jobs.
_canonical = canonical(config)
config.clear()
config.update(_canonical)

# Jobs import saltseg from this checkout, also inside `--use-conda` environments.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (workflow.basedir, os.getenv("PYTHONPATH")) if p
    )
)

STAGES = sorted(config["stages"], key=lambda name: int(name.removeprefix("stage")))
N_FOLDS = config["folds"]["n_folds"]
FOLDS = list(range(N_FOLDS))
SYNTHETIC = config["data"]["source"] == "synthetic"
SYNTH_DIR = "results/synth"
# The Kaggle-layout folder prepare_data reads: the synth rule's output or the user's folder.
DATA_DIR = SYNTH_DIR if SYNTHETIC else config["data"]["source"]
KAGGLE_HINT = (
    "get the competition files with the Kaggle CLI "
    "(kaggle competitions download -c tgs-salt-identification-challenge), "
    "unzip them so that it holds train/images, train/masks, test/images, train.csv and depths.csv, "
    "or point data.source in the config at another Kaggle-layout folder"
)


wildcard_constraints:
    stage="|".join(STAGES),
    model="|".join(sorted({m for s in STAGES for m in config["stages"][s]["models"]})),
    fold=r"\d+",


if not SYNTHETIC and not Path(DATA_DIR).is_dir():
    logging.getLogger("saltseg").warning(
        "data folder %s not found: %s", DATA_DIR, KAGGLE_HINT
    )


def data_source(wildcards=None):
    """prepare_data's input: DATA_DIR when it exists or will be made by the synth rule."""
    # A missing folder is reported by prepare_data with the download hint, not as a bare
    # MissingInputException, so `snakemake -n` still shows the DAG.
    return DATA_DIR if SYNTHETIC or Path(DATA_DIR).is_dir() else []


def stage_config(stage):
    return config["stages"][stage]


def stage_models(stage):
    return list(stage_config(stage)["models"])


def model_spec(wildcards):
    """What a fold's training depends on; predict settings are left out so that changing
    them re-runs prediction only."""
    model = stage_config(wildcards.stage)["models"][wildcards.model]
    return {k: v for k, v in model.items() if k not in ("pretrain", "predict")}


def pretrain_spec(wildcards):
    """The fold spec with its train section replaced by the model's pretrain section."""
    spec = model_spec(wildcards)
    spec["train"] = stage_config(wildcards.stage)["models"][wildcards.model]["pretrain"]
    return spec


def predict_params(wildcards):
    return stage_config(wildcards.stage)["models"][wildcards.model].get("predict", {})


def stage_mode(wildcards):
    return stage_config(wildcards.stage).get("mode", "scratch")


def pseudo_params(wildcards):
    return stage_config(wildcards.stage)["pseudo"]


def pseudo_source(wildcards):
    """Pseudo labels of a stage come from the blended test predictions of an earlier stage."""
    return f"results/{pseudo_params(wildcards)['from']}/ensemble/test.npz"


def train_fold_inputs(wildcards):
    inputs = {
        "data": rules.prepare_data.output.table,
        "folds": rules.make_folds.output.folds,
    }
    mode = stage_mode(wildcards)
    if mode in ("pretrain", "append"):
        inputs["pseudo"] = f"results/{wildcards.stage}/pseudo/labels.npz"
    if mode == "pretrain":
        inputs["init"] = (
            f"results/{wildcards.stage}/{wildcards.model}/pretrain/model.pt"
        )
    return inputs


def fold_predictions(stage, model, kind):
    return [f"results/{stage}/{model}/fold{fold}/{kind}.npz" for fold in FOLDS]


def prediction_file(name, kind):
    """Blended predictions of a stage ("stage2") or fold-averaged ones of a model ("stage2/b")."""
    stage, _, model = name.partition("/")
    return f"results/{stage}/{model or 'ensemble'}/{kind}.npz"


def stage_blend(wildcards):
    """Blend weights of a stage's models, keyed "stage/model" (equal weights by default)."""
    models = stage_models(wildcards.stage)
    weights = stage_config(wildcards.stage).get("blend") or {m: 1.0 for m in models}
    return {f"{wildcards.stage}/{m}": float(weights.get(m, 0.0)) for m in models}


def final_blend(wildcards=None):
    return {name: float(w) for name, w in config["final"]["blend"].items()}


def blend_inputs(blend, kind):
    """Input files of a blend, in the order of its weights."""
    return lambda wildcards: [prediction_file(n, kind) for n in blend(wildcards)]


def mosaic_enabled():
    return config["postprocess"]["mosaic"]["enabled"]


def postprocess_inputs(wildcards):
    inputs = {}
    if mosaic_enabled():
        inputs["layout"] = rules.build_mosaic.output.layout
    # With synthetic data, the test masks in truth/test.csv measure each rule.
    inputs.update(truth_input(wildcards))
    return inputs


def truth_input(wildcards):
    return {"truth": SYNTH_DIR} if SYNTHETIC else {}


def report_inputs(wildcards):
    inputs = {
        "stage_scores": [f"results/{s}/ensemble/scores.csv" for s in STAGES],
        "final_scores": rules.blend_final.output.scores,
        "pseudo_counts": [
            f"results/{s}/pseudo/counts.json"
            for s in STAGES
            if "pseudo" in stage_config(s)
        ],
        "postprocess": rules.postprocess.output.stats,
        "ablation": rules.postprocess.output.ablation,
    }
    if mosaic_enabled():
        inputs["mosaic"] = rules.build_mosaic.output.summary
        inputs["mosaic_png"] = rules.plot_mosaics.output.png
    return inputs


def runtime(key):
    return config["runtime"][key]
