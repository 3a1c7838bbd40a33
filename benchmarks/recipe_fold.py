"""One fold of a config stage's models, with a few epochs, on real tiles (a quick check of the
recipe's networks on a GPU, or on the CPU with --limit).

    python benchmarks/recipe_fold.py DATA_DIR --config config.yaml --stage stage1 \
        --epochs-per-phase 1 --limit 1000 --device cuda

Each model of the stage keeps its spec (network, geometry, channels, augmentation, losses,
optimizers) with ``encoder_weights: null``, and with ``--epochs-per-phase`` every phase cut to
that many epochs (one cosine cycle where the cycles no longer divide them). Trains on the other
folds' tiles, scores one fold (``--fold``, 0 by default) with the model's prediction settings;
prints a markdown table (metric at 0.5 and after the blend's threshold and ``empty_below`` tuned
on that fold, images/s, minutes; with an image head also the metric after emptying the tiles
under the head threshold that is best on that fold, as ``classifier_threshold: oof`` takes it).
``--save-maps DIR`` keeps each model's maps of that fold (``<model>.npz``: ids, probabilities,
image probabilities) for analysis without retraining.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from saltseg.blend import best_empty_below, best_threshold
from saltseg.config import workflow_config
from saltseg.data.folds import assign_folds
from saltseg.data.kaggle import read_tiles
from saltseg.metric import image_scores
from saltseg.nn.predict import empty_unless_salt, predict_maps
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec
from saltseg.nn.train import train
from saltseg.report import markdown_table
from saltseg.steps.train import oof_classifier_threshold

SPEC_KEYS = ("model", "input", "augment", "train", "predict")


def short_spec(model: dict, epochs: int | None) -> ModelSpec:
    """The model's spec without ImageNet weights and with every phase cut to ``epochs`` (None:
    the phases as the config has them)."""
    d = {k: model[k] for k in SPEC_KEYS}
    d["model"] = {**d["model"], "encoder_weights": None}
    if epochs is None:
        return ModelSpec.from_dict(d, source="recipe_fold")
    phases = []
    for phase in d["train"]["phases"]:
        schedule = dict(phase["schedule"])
        if schedule.get("name") == "cosine" and epochs % schedule.get("cycles", 1):
            schedule["cycles"] = 1
        phases.append({**phase, "epochs": epochs, "schedule": schedule})
    d["train"] = {**d["train"], "phases": phases}
    return ModelSpec.from_dict(d, source="recipe_fold")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--stage", default="stage1")
    ap.add_argument(
        "--epochs-per-phase", type=int, help="cut every phase to this (default: the config's)"
    )
    ap.add_argument("--limit", type=int, help="use only this many labelled tiles")
    ap.add_argument("--n-folds", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fold", type=int, default=0, help="the fold to score (default 0)")
    ap.add_argument(
        "--seed", type=int, default=0,
        help="training seed, added to the model's train.seed as the workflow adds the fold "
        "(default 0)",
    )  # fmt: skip
    ap.add_argument("--save-maps", type=Path, help="write each model's maps of the fold here")
    ap.add_argument(
        "--snapshots",
        help="comma-separated snapshot selections to score one by one, e.g. final,ema "
        "(default: the model's predict.snapshots)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    config = workflow_config(yaml.safe_load(Path(args.config).read_text()), args.config)
    models = config["stages"][args.stage]["models"]
    tiles = read_tiles(args.data_dir).split("train")
    folds = assign_folds(tiles.table, args.n_folds, "depth")["fold"].to_numpy()
    z = tiles.depths()
    rows = np.flatnonzero(folds >= 0)
    if args.limit:
        rows = np.sort(np.random.default_rng(0).choice(rows, min(args.limit, len(rows)), False))
    if not 0 <= args.fold < args.n_folds:
        ap.error(f"--fold {args.fold}: choose 0 to {args.n_folds - 1}")
    train_rows = rows[folds[rows] != args.fold]
    val_rows = rows[folds[rows] == args.fold]
    train_set = Samples(tiles.images[train_rows], tiles.masks[train_rows], z[train_rows])
    val_set = Samples(tiles.images[val_rows], tiles.masks[val_rows], z[val_rows])
    print(f"real tiles: {len(train_set)} training, {len(val_set)} validation", flush=True)

    if args.save_maps:
        args.save_maps.mkdir(parents=True, exist_ok=True)
    table = []
    for name, model in models.items():
        spec = short_spec(model, args.epochs_per_phase)
        compute = {"device": args.device, "threads": args.threads, "precision": args.precision}
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "model.pt"
            history = train(
                spec, train_set, val_set, ckpt, Path(tmp) / "h.csv", Path(tmp) / "c.png",
                seed=spec.train.seed + args.seed, **compute,
            )  # fmt: skip
            minutes = (time.perf_counter() - start) / 60
            selections = args.snapshots.split(",") if args.snapshots else [None]
            maps = {s: predict_maps(ckpt, val_set, snapshots=s, **compute) for s in selections}
        for selection, (probs, image) in maps.items():
            label = name if selection is None else f"{name}:{selection}"
            table.append(score_row(args, label, spec, history, minutes, val_set, probs, image))
            print(table[-1], flush=True)
            if args.save_maps:
                np.savez_compressed(
                    args.save_maps / f"{label.replace(':', '_')}.npz",
                    ids=tiles.ids[val_rows].astype(str), probs=probs,
                    image=np.zeros(0) if image is None else image,
                )  # fmt: skip
    print(markdown_table(pd.DataFrame(table), floatfmt=".3f"))


def score_row(args, name, spec, history, minutes, val_set, probs, image) -> dict:
    """One table row: the fold's metric at 0.5, its empty/salt split, speed, the image head's."""
    empty = ~val_set.masks.any(axis=(1, 2))
    head = {}
    if image is not None:  # the image head's best threshold on these tiles, as "oof" takes it
        t, _ = oof_classifier_threshold(val_set.masks, probs, image)
        with_head = image_scores(val_set.masks, (probs > 0.5) & (image >= t)[:, None, None])
        # The metric column applies a numeric spec threshold, as predict does.
        if isinstance(spec.predict.classifier_threshold, float | int):
            empty_unless_salt(probs, image, float(spec.predict.classifier_threshold))
        head = {
            "head_threshold": t,
            "metric_head": float(with_head.mean()),
            "empty_head": float(with_head[empty].mean()),
            "non_empty_head": float(with_head[~empty].mean()),
        }
    scores = image_scores(val_set.masks, probs > 0.5)
    # The blend's OOF tuning, here on the fold itself (so a little optimistic): threshold, then
    # empty_below.
    threshold, at_threshold = best_threshold(val_set.masks, probs)
    level, at_level = best_empty_below(val_set.masks, probs, threshold)
    return {
        "model": f"{args.stage}/{name}",
        "epochs": len(history),
        "train_img_s": float(history["images_per_s"].median()),
        "metric": float(scores.mean()),
        "empty": float(scores[empty].mean()),
        "non_empty": float(scores[~empty].mean()),
        "threshold": threshold,
        "metric_threshold": at_threshold,
        "empty_below": level,
        "metric_empty_below": at_level,
        "minutes": minutes,
        **head,
    }


if __name__ == "__main__":
    main()
