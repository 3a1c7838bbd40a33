"""Network variants on real tiles: one fold, the same CPU time budget for each.

    python benchmarks/networks_real.py ../shared/data/tgs-public --minutes 10 --out nets.csv
    python benchmarks/networks_real.py DATA --variants unet_r34,saltnet_fpa --minutes 10

Each variant trains on the other folds' labelled tiles (depth folds, as the workflow makes them)
and is scored on ``--fold`` at threshold 0.5 with hflip TTA: the competition metric, and its
split into empty and non-empty truth. The budget is turned into epochs from each variant's
measured training speed (a few timed batches), so a slower network gets fewer epochs (and one
too slow for two epochs gets two epochs of a random part of the training tiles): the question
is what wins on a CPU in a given time. One row per variant is appended to ``--out`` as
soon as it finishes, and the whole table is printed as markdown.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from saltseg.data.folds import assign_folds
from saltseg.data.kaggle import read_tiles
from saltseg.metric import image_scores
from saltseg.nn.device import resolve_compute
from saltseg.nn.feed import to_inputs, to_network, train_loader
from saltseg.nn.geometry import Geometry
from saltseg.nn.losses import SegLoss, total_loss
from saltseg.nn.network import build_model
from saltseg.nn.outputs import split_outputs
from saltseg.nn.predict import predict
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec
from saltseg.nn.train import make_optimizer, train
from saltseg.report import markdown_table

UNET = {"arch": "Unet", "encoder": "resnet34", "decoder_attention": "scse"}
SALTNET = {"arch": "SaltNet", "encoder": "resnet34", "decoder_attention": "scse"}
VARIANTS = {
    "unet_r34": UNET,
    "saltnet": SALTNET,
    "saltnet_stride1": {**SALTNET, "stem": "stride1"},
    "saltnet_escse": {**SALTNET, "encoder_attention": "scse"},
    "saltnet_fpa": {**SALTNET, "center": "fpa"},
    "saltnet_fpa_hc": {**SALTNET, "center": "fpa", "hypercolumn": True},
    "saltnet_fpa_hc_ds": {
        **SALTNET, "center": "fpa", "hypercolumn": True, "deep_supervision": True,
    },
    "saltnet_b": {
        **SALTNET, "encoder_attention": "scse", "center": "fpa", "hypercolumn": True,
    },
    "saltnet_stage3": {
        **SALTNET, "encoder_attention": "scse", "center": "fpa", "hypercolumn": True,
        "stem": "stride1", "decoder_upsample": "transpose",
    },
}  # fmt: skip


def make_spec(network: dict, args: argparse.Namespace, epochs: int) -> ModelSpec:
    """BCE+Dice for a third of the epochs, then Lovasz (elu+1), Adam with cosine decay in both."""
    first = max(1, epochs // 3)
    second = max(1, epochs - first)
    adam = {"name": "adam", "lr": args.lr}
    return ModelSpec.from_dict(
        {
            "model": {"encoder_weights": None, "decoder_channels": args.decoder, **network},
            "input": {"resize": None, "pad": 128, "channels": ["image", "ramp"]},
            "augment": {"hflip": 0.5, "brightness": 0.1, "contrast": 0.1,
                        "shift_scale": {"p": 0.5, "shift": 0.05, "scale": 0.05, "rotate": 0}},
            "train": {
                "batch_size": args.batch,
                "phases": [
                    {"name": "bce_dice", "loss": {"bce": 1.0, "dice": 1.0}, "epochs": first,
                     "optimizer": adam,
                     "schedule": {"name": "cosine", "cycles": 1, "min_lr": args.lr / 10}},
                    {"name": "lovasz", "loss": {"lovasz_elu": 1.0}, "epochs": second,
                     "optimizer": {**adam, "lr": args.lr / 2},
                     "schedule": {"name": "cosine", "cycles": 1, "min_lr": args.lr / 50}},
                ],
            },
            "predict": {"batch_size": 64, "tta": ["hflip"], "snapshots": "best"},
        },
        source="networks_real",
    )  # fmt: skip


def images_per_second(spec: ModelSpec, samples: Samples, threads: int, batches: int = 4) -> float:
    """Training speed of the whole step (augmentation to optimizer), after one warm-up batch."""
    torch.manual_seed(0)
    compute = resolve_compute("cpu", threads, "fp32")
    model = compute.prepare(build_model(spec.model, spec.in_channels, pretrained=False))
    model.train()
    phase = spec.train.phases[0]
    optimizer, criterion = make_optimizer(model, phase.optimizer), SegLoss(phase.loss)
    geometry = Geometry.from_spec(spec.input)
    seen, start = 0, 0.0
    for k, (images, masks, z) in enumerate(train_loader(samples, spec, compute, seed=0)):
        if k == 1:
            start, seen = time.perf_counter(), 0
        x = to_network(to_inputs(images, z, spec, compute), geometry, compute)
        target = geometry.mask_to_network(masks.unsqueeze(1))
        loss = total_loss(split_outputs(model(x)), target, criterion, spec.model)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(images)
        if k == batches:
            break
    return seen / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per variant")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--n-folds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--decoder", default="128,64,32,16,16", help="decoder_channels")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, help="use only this many tiles of each set (smoke test)")
    ap.add_argument("--out", default="networks_real.csv")
    args = ap.parse_args(argv)
    args.decoder = [int(c) for c in args.decoder.split(",")]
    logging.basicConfig(level=logging.WARNING)
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")

    tiles = read_tiles(args.data_dir).split("train")
    folds = assign_folds(tiles.table, args.n_folds, "depth")["fold"].to_numpy()
    z = tiles.depths()
    train_rows, val_rows = (
        np.flatnonzero((folds != args.fold) & (folds >= 0)),
        np.flatnonzero(folds == args.fold),
    )
    if args.limit:
        train_rows, val_rows = train_rows[: args.limit], val_rows[: args.limit]
    train_set = Samples(tiles.images[train_rows], tiles.masks[train_rows], z[train_rows])
    val_set = Samples(tiles.images[val_rows], tiles.masks[val_rows], z[val_rows])
    empty = ~val_set.masks.any(axis=(1, 2))
    n_empty = int(empty.sum())
    print(
        f"real tiles: {len(train_set)} training, {len(val_set)} validation ({n_empty} empty), "
        f"fold {args.fold} of {args.n_folds}",
        flush=True,
    )

    rows = []
    for name in args.variants.split(","):
        probe = make_spec(VARIANTS[name], args, 3)
        rate = images_per_second(probe, train_set, args.threads)
        # Two epochs at least (one per loss phase); a network too slow for two epochs of the
        # whole training set in the budget gets two epochs of a random part of it.
        budget_images = args.minutes * 60 * rate
        epochs = max(2, math.floor(budget_images / len(train_set)))
        fit = train_set
        if budget_images < 2 * len(train_set):
            keep = np.sort(
                np.random.default_rng(0).choice(
                    len(train_set), int(budget_images / 2), replace=False
                )
            )
            fit = Samples(train_set.images[keep], train_set.masks[keep], train_set.z[keep])
        spec = make_spec(VARIANTS[name], args, epochs)
        n_params = sum(p.numel() for p in build_model(spec.model, 2, pretrained=False).parameters())
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "model.pt"
            history = train(
                spec, fit, val_set, ckpt, Path(tmp) / "h.csv", Path(tmp) / "c.png",
                device="cpu", threads=args.threads, precision="fp32", seed=0,
            )  # fmt: skip
            train_minutes = (time.perf_counter() - start) / 60
            probs = predict(ckpt, val_set, device="cpu", threads=args.threads, precision="fp32")
        scores = image_scores(val_set.masks, probs > 0.5)
        row = {
            "variant": name,
            "params_M": round(n_params / 1e6, 2),
            "train_img_s": round(rate, 1),
            "epochs": epochs,
            "train_tiles": len(fit),
            "best_epoch_metric": round(float(history["val_metric"].max()), 4),
            "metric": round(float(scores.mean()), 4),
            "empty": round(float(scores[empty].mean()), 4),
            "non_empty": round(float(scores[~empty].mean()), 4),
            "minutes": round(train_minutes, 1),
        }
        rows.append(row)
        print(row, flush=True)
        out = Path(args.out)
        pd.DataFrame([row]).to_csv(out, mode="a", header=not out.exists(), index=False)
    print(markdown_table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
