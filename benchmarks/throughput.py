"""Data-pipeline overhead of saltseg training and prediction.

Compares, in one process and on the same model:
- training: images/s of saltseg.train.train (augmentation, channels, geometry, loss, optimizer)
  vs a raw loop of forward + loss + backward + step on ready-made random tensors;
- prediction: images/s of saltseg.predict.predict (no TTA, one snapshot) vs raw no-grad forwards.

    .venv/bin/python benchmarks/throughput.py --encoder resnet18 --depth 3 --pad 64 --resize 56
    .venv/bin/python benchmarks/throughput.py --spec my_model.yaml   # a full model spec
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from saltseg.checkpoint import load_checkpoint
from saltseg.device import autocast, resolve_device
from saltseg.feed import to_inputs, to_network, train_loader
from saltseg.geometry import Geometry
from saltseg.losses import SegLoss
from saltseg.model import build_model, split_outputs
from saltseg.predict import predict
from saltseg.spec import ModelSpec
from saltseg.train import Samples, make_optimizer, train


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--spec", help="YAML file with a model spec (overrides the options below)")
    p.add_argument("--arch", default="Unet")
    p.add_argument("--encoder", default="resnet18")
    p.add_argument("--depth", type=int, default=3, help="encoder_depth")
    p.add_argument("--decoder", default="32,16,16", help="decoder_channels, comma-separated")
    p.add_argument("--attention", default=None, help="decoder_attention (scse)")
    p.add_argument("--pad", type=int, default=64)
    p.add_argument("--resize", type=int, default=56)
    p.add_argument("--channels", default="image,ramp")
    p.add_argument("--loss", default="bce,dice", help="loss terms, each with weight 1")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default auto)")
    p.add_argument("--images", type=int, default=192, help="random tiles to train/predict on")
    p.add_argument("--rounds", type=int, default=3, help="alternating timing rounds")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def make_spec(args: argparse.Namespace) -> ModelSpec:
    if args.spec:
        d = yaml.safe_load(Path(args.spec).read_text())
        d["train"]["phases"] = d["train"]["phases"][:1]
        d["train"]["phases"][0]["epochs"] = 2
        d["train"]["phases"][0]["early_stopping"] = None
        d["train"]["phases"][0]["schedule"] = {"name": "constant"}
        d["model"]["encoder_weights"] = None
        return ModelSpec.from_dict(d, source=args.spec)
    return ModelSpec.from_dict(
        {
            "model": {
                "arch": args.arch,
                "encoder": args.encoder,
                "encoder_depth": args.depth,
                "decoder_channels": [int(c) for c in args.decoder.split(",")],
                "decoder_attention": args.attention,
            },
            "input": {"pad": args.pad, "resize": args.resize, "channels": args.channels.split(",")},
            "train": {
                "batch_size": args.batch,
                "num_workers": args.workers,
                "phases": [
                    {
                        "name": "bench",
                        "loss": {t: 1.0 for t in args.loss.split(",")},
                        "optimizer": {"name": "adam", "lr": 1e-4},
                        "epochs": 2,  # the first one warms up; the second is timed
                    }
                ],
            },
            "predict": {"batch_size": 2 * args.batch, "tta": [], "snapshots": "final"},
        },
        source="command line",
    )


def random_tiles(n: int, seed: int = 0) -> Samples:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 101, 101), dtype=np.uint8)
    masks = np.zeros((n, 101, 101), dtype=bool)
    masks[:, 60:] = rng.random(n)[:, None, None] > 0.4
    return Samples(images, masks, rng.uniform(50, 950, n).astype(np.float32))


def raw_train_rate(spec: ModelSpec, device: torch.device, steps: int) -> float:
    """Images/s of forward + loss + backward + step on tensors already on the device."""
    torch.manual_seed(0)
    model = build_model(spec.model, spec.in_channels).to(device).train()
    phase = spec.train.phases[0]
    optimizer, criterion = make_optimizer(model, phase.optimizer), SegLoss(phase.loss)
    b, side = spec.train.batch_size, spec.input.pad
    # A few distinct batches: re-using one tensor would flatter the raw loop (warm caches).
    xs = [torch.randn(b, spec.in_channels, side, side, device=device) for _ in range(4)]
    ys = [(torch.rand(b, 1, side, side, device=device) > 0.5).float() for _ in range(4)]

    def step(k: int) -> None:
        with autocast(device):
            logits, _ = split_outputs(model(xs[k % 4]))
        loss = criterion(logits, ys[k % 4])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(0)  # warm-up
    _sync(device)
    start = time.perf_counter()
    for k in range(steps):
        step(k)
    _sync(device)
    return steps * b / (time.perf_counter() - start)


@torch.no_grad()
def raw_predict_rate(
    model: torch.nn.Module, spec: ModelSpec, device: torch.device, n: int
) -> float:
    b, side = spec.predict.batch_size, spec.input.pad
    xs = [torch.randn(b, spec.in_channels, side, side, device=device) for _ in range(4)]
    model.eval()
    with autocast(device):
        model(xs[0])
    _sync(device)
    start = time.perf_counter()
    done = 0
    while done < n:
        with autocast(device):
            torch.sigmoid(split_outputs(model(xs[(done // b) % 4]))[0].float())
        done += b
    _sync(device)
    return done / (time.perf_counter() - start)


def data_only_rate(samples: Samples, spec: ModelSpec, device: torch.device) -> float:
    """Images/s of the training data pipeline alone: augmentation, channels and geometry."""
    loader = train_loader(samples, spec, device, seed=0)
    geometry = Geometry.from_spec(spec.input)
    start, seen = time.perf_counter(), 0
    for images, masks, z in loader:
        to_network(to_inputs(images, z, spec, device), geometry, device)
        geometry.mask_to_network(masks.to(device).unsqueeze(1))
        seen += len(images)
    _sync(device)
    return seen / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def overhead(pipeline: float, raw: float) -> str:
    """Extra time per image of the pipeline relative to the raw loop."""
    return f"{100.0 * (raw / pipeline - 1.0):+.1f}%"


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    spec = make_spec(args)
    device = resolve_device(args.device, args.threads)
    samples = random_tiles(args.images)
    steps = max(3, args.images // spec.train.batch_size)
    print(f"device {device} ({args.threads} threads), {spec.model.arch}/{spec.model.encoder} "
          f"depth {spec.model.encoder_depth}, input {spec.input.resize or 101}->{spec.input.pad}, "
          f"channels {spec.input.channels}, batch {spec.train.batch_size}, "
          f"{args.images} tiles")  # fmt: skip
    # Other processes make CPU timings noisy: alternate the measurements and compare medians.
    rows = {"train": ([], []), "predict": ([], [])}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "m.pt"
        for _ in range(args.rounds):
            rows["train"][1].append(raw_train_rate(spec, device, steps))
            history = train(spec, samples, None, ckpt, Path(tmp) / "h.csv", Path(tmp) / "c.png",
                            device=args.device, threads=args.threads)  # fmt: skip
            rows["train"][0].append(float(history["images_per_s"].iloc[-1]))
        model = build_model(spec.model, spec.in_channels, pretrained=False).to(device)
        model.load_state_dict(load_checkpoint(ckpt).snapshots["final"])
        many = random_tiles(4 * args.images, seed=1)  # the fixed cost is paid once per call
        for _ in range(args.rounds):
            rows["predict"][1].append(raw_predict_rate(model, spec, device, len(many)))
            start = time.perf_counter()
            predict(ckpt, many, device=args.device, threads=args.threads, tta=[],
                    snapshots="final")  # fmt: skip
            rows["predict"][0].append(len(many) / (time.perf_counter() - start))
        data_rate = data_only_rate(samples, spec, device)
    print(
        f"{'':10s}{'saltseg':>10s}{'raw':>10s}{'overhead':>10s}   images/s, median of {args.rounds}"
    )
    for name, (pipe, raw) in rows.items():
        p, r = statistics.median(pipe), statistics.median(raw)
        print(
            f"{name:10s}{p:10.1f}{r:10.1f}{overhead(p, r):>10s}   saltseg "
            f"{'/'.join(f'{v:.0f}' for v in pipe)}, raw {'/'.join(f'{v:.0f}' for v in raw)}"
        )
    print("(predict includes loading the checkpoint and building the model)")
    raw_train = statistics.median(rows["train"][1])
    print(f"data pipeline alone (augment + channels + geometry): {data_rate:.0f} images/s, "
          f"{100.0 * raw_train / data_rate:.1f}% of a raw training step")  # fmt: skip


if __name__ == "__main__":
    main()
