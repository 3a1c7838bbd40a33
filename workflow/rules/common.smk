# Validate first, then the names and small input functions every rule file uses.
import logging
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config

from saltseg.bundle.manifest import member_weights
from saltseg.config import command_line_values, stage_order, workflow_config
from saltseg.data.kaggle import is_tile_png
from saltseg.errors import SaltsegError


# The one schema (saltseg.config) checks the config before anything runs and fills in every
# default, so `snakemake -n` rejects what a job would reject. Keys come out sorted: Snakemake
# compares params as text, so reordering a config file is not mistaken for a change.
def canonical(value):
    """Config values with sorted keys, recursively."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


# Values given with --config reach us as strings inside dicts ("folds={'n_folds': 2}");
# type them as a config file would, on top of the files.
update_config(
    config, command_line_values(workflow.config_settings.overwrite_config or {})
)

# Errors name the config file(s) the user gave (or config.yaml, the default).
_sources = ", ".join(map(str, getattr(workflow, "configfiles", None) or [])) or "config"
try:
    _validated = canonical(workflow_config(config, _sources))
except SaltsegError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_validated)

# Jobs import saltseg from this checkout, also inside `--use-conda` environments.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (workflow.basedir, os.getenv("PYTHONPATH")) if p
    )
)

STAGES = stage_order(config["stages"])
FOLDS = list(range(config["folds"]["n_folds"]))
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


ANSWERS = config["data"]["answers"]
if ANSWERS is not None and not Path(ANSWERS).is_file():
    raise WorkflowError(f"config: data.answers: {ANSWERS}: file not found")

if not SYNTHETIC and not Path(DATA_DIR).is_dir():
    logging.getLogger("saltseg").warning(
        "data folder %s not found: %s", DATA_DIR, KAGGLE_HINT
    )


def _has_test_tiles():
    """Whether the data folder holds test PNGs: the synthetic data always does; a folder not
    there yet is reported by prepare_data."""
    folder = Path(DATA_DIR) / "test" / "images"
    if SYNTHETIC or not Path(DATA_DIR).is_dir():
        return True
    return folder.is_dir() and any(is_tile_png(p) for p in folder.iterdir())


HAS_TEST_TILES = _has_test_tiles()


def needs_test_tiles(what):
    """An input function of the rules that need test tiles: without them, the DAG stops
    before anything runs, naming the targets that work without."""

    def check(wildcards):
        if not HAS_TEST_TILES:
            oof_only = [
                f"results/{s}/blend/scores.csv"
                for s in STAGES
                if stage_config(s)["pseudo"] is None
            ]
            raise WorkflowError(
                f"{DATA_DIR}: no test tiles in test/images, so no {what}; without them run "
                f"stage 1 and its OOF metric: snakemake {' '.join(oof_only)} ..."
            )
        return {}

    return check


def tensorboard_dir(wildcards):
    """Where a training job's TensorBoard events go ("" when runtime.tensorboard is off)."""
    if not config["runtime"]["tensorboard"]:
        return ""
    run = f"fold{wildcards.fold}" if "fold" in wildcards.keys() else "pretrain"
    return f"results/tensorboard/{wildcards.stage}/{wildcards.model}/{run}"


def config_at(*keys):
    """A params function: the config value at ``keys``, each formatted with the job's
    wildcards ("{stage}"), as PyPSA-Eur's config_provider does."""

    def lookup(wildcards):
        node = config
        for key in keys:
            node = node[key.format(**wildcards)]
        return node

    return lookup


def stage_config(stage):
    return config["stages"][stage]


def data_source(wildcards=None):
    """prepare_data's input: DATA_DIR when it exists or will be made by the synth rule."""
    # A missing folder is reported by prepare_data with the download hint, not as a bare
    # MissingInputException, so `snakemake -n` still shows the DAG.
    if SYNTHETIC:
        return rules.synth.output.folder
    return DATA_DIR if Path(DATA_DIR).is_dir() else []


def truth(wildcards=None):
    """What scores the test predictions: the synthetic dataset's folder (its truth/test.csv),
    or the data.answers file."""
    if SYNTHETIC:
        return {"truth": rules.synth.output.folder}
    return {"answers": ANSWERS} if ANSWERS else {}


# A model's config keys that are not part of its training spec (mode is a param of its own).
MODEL_ONLY = ("mode", "pretrain", "predict")


def model_config(wildcards):
    return stage_config(wildcards.stage)["models"][wildcards.model]


def model_spec(wildcards):
    """What a fold's training depends on: the model's spec without its predict section."""
    return {k: v for k, v in model_config(wildcards).items() if k not in MODEL_ONLY}


def pretrain_spec(wildcards):
    """The fold spec with its train section replaced by the model's pretrain section."""
    return {**model_spec(wildcards), "train": model_config(wildcards)["pretrain"]}


def train_fold_inputs(wildcards):
    """Pseudo labels (append, pretrain and refine modes), the pretrained model (pretrain) or the
    pseudo source stage's model of the same fold (refine)."""
    mode = model_config(wildcards)["mode"]
    inputs = {}
    if mode != "scratch":
        inputs["pseudo"] = expand(
            rules.make_pseudo_labels.output.labels, stage=wildcards.stage
        )[0]
    if mode == "pretrain":
        inputs["init"] = expand(
            rules.pretrain_on_pseudo.output.checkpoint,
            stage=wildcards.stage,
            model=wildcards.model,
        )[0]
    if mode == "refine":
        inputs["init"] = expand(
            rules.train_fold.output.checkpoint,
            stage=config["stages"][wildcards.stage]["pseudo"]["from"],
            model=wildcards.model,
            fold=wildcards.fold,
        )[0]
    return inputs


def fold_files(kind):
    """A model's per-fold prediction files ("oof" or "test") of predict_fold."""
    template = getattr(rules.predict_fold.output, kind)
    return lambda w: expand(template, stage=w.stage, model=w.model, fold=FOLDS)


def blend_input(name, kind):
    """Predictions of a blend member: a stage's blend ("stage2") or a model's ("stage2/b")."""
    stage, _, model = name.partition("/")
    if model:
        return expand(
            getattr(rules.average_folds.output, kind), stage=stage, model=model
        )[0]
    return expand(getattr(rules.blend_stage.output, kind), stage=stage)[0]


def model_weights(stage):
    """Blend weights of a stage's models by model name (a model left out weighs 0)."""
    weights = stage_config(stage)["blend"]
    return {m: float(weights.get(m, 0.0)) for m in stage_config(stage)["models"]}


def stage_weights(wildcards):
    """Blend weights of a stage's models, keyed "stage/model"."""
    return {
        f"{wildcards.stage}/{m}": w for m, w in model_weights(wildcards.stage).items()
    }


def final_weights(wildcards=None):
    return {name: float(w) for name, w in config["final"]["blend"].items()}


def blend_inputs(weights, kind):
    """Input files of a blend, in the order of its weights."""
    return lambda wildcards: [blend_input(n, kind) for n in weights(wildcards)]


def pseudo_probs(wildcards):
    """Pseudo labels of a stage come from the blended test predictions of an earlier stage."""
    source = stage_config(wildcards.stage)["pseudo"]["from"]
    return expand(rules.blend_stage.output.test, stage=source)[0]


def bundle_members():
    """The final blend's model families with their weights and prediction settings, and their
    fold checkpoints in the same order (export_bundle's params and inputs)."""
    stages = {s: model_weights(s) for s in STAGES}
    members = []
    for stage, model, weight in member_weights(final_weights(), stages):
        members.append(
            {
                "stage": stage,
                "model": model,
                "weight": weight,
                "folds": len(FOLDS),
                "predict": stage_config(stage)["models"][model]["predict"],
            }
        )
    return members


def bundle_fold_files(output):
    """An output of every fold model of the final blend, in bundle_members' order."""
    return lambda wildcards=None: [
        expand(output, stage=m["stage"], model=m["model"], fold=k)[0]
        for m in bundle_members()
        for k in FOLDS
    ]


MOSAIC_RULES = config["postprocess"]["mosaic_rules"]["enabled"]


def mosaic_layout(wildcards=None):
    return {"layout": rules.build_mosaic.output.layout} if MOSAIC_RULES else {}


def report_inputs(wildcards):
    inputs = {
        "stage_scores": expand(rules.blend_stage.output.scores, stage=STAGES),
        "pseudo_counts": expand(
            rules.make_pseudo_labels.output.counts,
            stage=[s for s in STAGES if stage_config(s)["pseudo"] is not None],
        ),
    }
    if MOSAIC_RULES:
        inputs["mosaic_summary"] = rules.build_mosaic.output.summary
        inputs["mosaic_png"] = rules.plot_mosaics.output.png
    inputs["benchmarks"] = benchmark_files()
    return inputs


def benchmark_files():
    """The benchmark files of the run's heavy jobs, for the report's wall time per rule."""
    files = [str(rules.build_mosaic.benchmark)] if MOSAIC_RULES else []
    for stage in STAGES:
        for model in stage_config(stage)["models"]:
            names = {"stage": stage, "model": model}
            for job in (rules.train_fold, rules.predict_fold):
                files += expand(str(job.benchmark), fold=FOLDS, **names)
            if stage_config(stage)["models"][model]["mode"] == "pretrain":
                files += expand(str(rules.pretrain_on_pseudo.benchmark), **names)
    return files


def tileset(wildcards=None):
    """The prepared tile set: the table every step opens (``tiles``), and the arrays beside it
    that it reads through the table's folder, declared so that no job reads an undeclared file.
    """
    out = rules.prepare_data.output
    return {"tiles": out.tiles, "tile_images": out.images, "tile_masks": out.masks}


def runtime(key):
    return config["runtime"][key]


def gpu_slots():
    """The `gpu` resource of a training or prediction job: one slot, so that `--resources gpu=N`
    runs N at once, or none under `runtime.device: cpu`, where `--cores` and `runtime.threads`
    alone decide how many run side by side (2 one-thread jobs on 2 cores train faster than one
    job on both: README, "Running it")."""
    return 0 if runtime("device") == "cpu" else 1


def cluster_resources(kind):
    """A rule's cluster resources: its SLURM partition from the config's ``cluster`` section
    (``kind`` "gpu" for the GPU rules), or nothing, so that the profile's default-resources or
    the cluster's default partition apply."""
    section = config["cluster"]
    partition = section["gpu_partition"] if kind == "gpu" else None
    partition = partition or section["partition"]
    return {"slurm_partition": partition} if partition else {}


# `snakemake predict`: new tiles for the bundle, named after their folder (or .npy file).
PREDICT_SOURCE = config["predict"]["source"]
PREDICT_DIR = f"results/predict/{Path(PREDICT_SOURCE or 'tiles').stem}"


def predict_source(wildcards):
    """The new tiles of `snakemake predict`, which must be set and exist."""
    if PREDICT_SOURCE is None:
        raise WorkflowError(
            "predict.source: not set; name the new tiles, e.g. "
            "snakemake predict --config \"predict={'source': 'new_tiles'}\""
        )
    if not Path(PREDICT_SOURCE).exists():
        raise WorkflowError(f"predict.source: {PREDICT_SOURCE} not found")
    return PREDICT_SOURCE
