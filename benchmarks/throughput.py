"""Data-pipeline overhead of saltseg training and prediction.

Compares, in one process and on the same model:
- training: images/s of saltseg.nn.train.train_epoch (the epoch loop of train_fold: augmentation,
  channels, geometry, loss, optimizer, progress) vs a raw loop of forward + loss + backward + step
  on ready-made random tensors, epoch by epoch, alternating;
- prediction: images/s of saltseg.nn.predict.predict (no TTA, one snapshot) vs raw no-grad forwards.

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

from saltseg.nn.checkpoint import save_checkpoint
from saltseg.nn.device import Compute, resolve_compute
from saltseg.nn.feed import to_inputs, to_network, train_loader
from saltseg.nn.geometry import Geometry
from saltseg.nn.losses import SegLoss
from saltseg.nn.network import build_model
from saltseg.nn.outputs import split_outputs
from saltseg.nn.predict import predict
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec
from saltseg.nn.train import make_optimizer, train_epoch


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
    p.add_argument("--rounds", type=int, default=8, help="alternating timing rounds")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="auto", help="auto | bf16 | fp32")
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


def paired_train_rates(
    spec: ModelSpec, samples: Samples, compute: Compute, rounds: int
) -> tuple[list[float], list[float], torch.nn.Module]:
    """Images/s of saltseg's ``train_epoch`` and of a raw loop, epoch by epoch, alternating.

    Both train the same model with the same optimizer; the raw loop runs as many steps of forward +
    loss + backward + step on tensors already on the device (a few distinct batches: re-using one
    would flatter it with warm caches). Alternating epochs cancels the drift of a shared machine.
    """
    torch.manual_seed(0)
    model = compute.prepare(build_model(spec.model, spec.in_channels, pretrained=False))
    device = compute.device
    phase = spec.train.phases[0]
    optimizer, criterion = make_optimizer(model, phase.optimizer), SegLoss(phase.loss)
    loader = train_loader(samples, spec, compute, seed=0)
    geometry = Geometry.from_spec(spec.input)
    b, side = spec.train.batch_size, spec.input.pad
    xs = [
        compute.layout(torch.randn(b, spec.in_channels, side, side, device=device))
        for _ in range(4)
    ]
    ys = [(torch.rand(b, 1, side, side, device=device) > 0.5).float() for _ in range(4)]

    def raw_epoch() -> float:
        model.train()
        _sync(device)
        start = time.perf_counter()
        for k in range(len(loader)):
            with compute.autocast():
                logits = split_outputs(model(xs[k % 4])).mask
            loss = criterion(logits, ys[k % 4])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        _sync(device)
        return len(loader) * b / (time.perf_counter() - start)

    def saltseg_epoch() -> float:
        _sync(device)
        start = time.perf_counter()
        _, seen, _ = train_epoch(model, loader, spec, geometry, criterion, optimizer, compute)
        _sync(device)
        return seen / (time.perf_counter() - start)

    raw_epoch(), saltseg_epoch()  # warm-up: allocator, kernels selection
    pipe, raw = [], []
    for _ in range(rounds):
        raw.append(raw_epoch())
        pipe.append(saltseg_epoch())
    return pipe, raw, model


@torch.no_grad()
def raw_predict_rate(model: torch.nn.Module, spec: ModelSpec, compute: Compute, n: int) -> float:
    b, side, device = spec.predict.batch_size, spec.input.pad, compute.device
    xs = [
        compute.layout(torch.randn(b, spec.in_channels, side, side, device=device))
        for _ in range(4)
    ]
    model.eval()
    with compute.autocast():
        model(xs[0])
    _sync(device)
    start = time.perf_counter()
    done = 0
    while done < n:
        with compute.autocast():
            torch.sigmoid(split_outputs(model(xs[(done // b) % 4])).mask.float())
        done += b
    _sync(device)
    return done / (time.perf_counter() - start)


def data_only_rate(samples: Samples, spec: ModelSpec, compute: Compute) -> float:
    """Images/s of the training data pipeline alone: augmentation, channels and geometry."""
    loader = train_loader(samples, spec, compute, seed=0)
    geometry = Geometry.from_spec(spec.input)
    start, seen = time.perf_counter(), 0
    for images, masks, z in loader:
        to_network(to_inputs(images, z, spec, compute), geometry, compute)
        geometry.mask_to_network(compute.to_device(masks).unsqueeze(1))
        seen += len(images)
    _sync(compute.device)
    return seen / (time.perf_counter() - start)


def _timed_predict(ckpt: Path, samples: Samples, args: argparse.Namespace) -> float:
    start = time.perf_counter()
    predict(ckpt, samples, device=args.device, threads=args.threads, precision=args.precision,
            tta=[], snapshots="final")  # fmt: skip
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def overhead(pipeline: list[float], raw: list[float]) -> str:
    """Extra time per image of the pipeline relative to the raw loop: the median over the pairs
    measured back to back (robust to the machine's speed drifting between pairs)."""
    ratios = [r / p - 1.0 for p, r in zip(pipeline, raw, strict=True)]
    return f"{100.0 * statistics.median(ratios):+.1f}%"


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    spec = make_spec(args)
    compute = resolve_compute(args.device, args.threads, args.precision)
    samples = random_tiles(args.images)
    threads = f" ({args.threads} threads)" if not compute.cuda else ""
    print(f"device {compute.device}{threads}, {'bf16' if compute.bf16 else 'fp32'}, "
          f"{spec.model.arch}/{spec.model.encoder} "
          f"depth {spec.model.encoder_depth}, input {spec.input.resize or 101}->{spec.input.pad}, "
          f"channels {spec.input.channels}, batch {spec.train.batch_size}, "
          f"{args.images} tiles")  # fmt: skip
    # Other processes make CPU timings noisy: alternate the measurements, compare pair by pair.
    rows = {"train": ([], []), "predict": ([], []), "predict steady": ([], [])}
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "m.pt"
        pipe, raw, model = paired_train_rates(spec, samples, compute, args.rounds)
        rows["train"] = (pipe, raw)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        save_checkpoint(ckpt, {"final": state}, spec, spec.in_channels)
        many = random_tiles(4 * args.images, seed=1)
        one = random_tiles(1, seed=2)
        fixed = []
        for _ in range(args.rounds):
            rows["predict"][1].append(raw_predict_rate(model, spec, compute, len(many)))
            seconds = _timed_predict(ckpt, many, args)
            rows["predict"][0].append(len(many) / seconds)
            # Loading the checkpoint and building the model, paid once per call (per fold).
            fixed.append(_timed_predict(ckpt, one, args))
            rows["predict steady"][0].append(len(many) / (seconds - fixed[-1]))
            rows["predict steady"][1].append(rows["predict"][1][-1])
        data_rate = data_only_rate(samples, spec, compute)
    print(f"{'':15s}{'saltseg':>9s}{'raw':>9s}{'overhead':>10s}   images/s, medians of "
          f"{args.rounds} alternating pairs")  # fmt: skip
    for name, (pipe, raw) in rows.items():
        p, r = statistics.median(pipe), statistics.median(raw)
        print(
            f"{name:15s}{p:9.1f}{r:9.1f}{overhead(pipe, raw):>10s}   saltseg "
            f"{'/'.join(f'{v:.0f}' for v in pipe)}, raw {'/'.join(f'{v:.0f}' for v in raw)}"
        )
    print(
        f"(predict includes loading the checkpoint and building the model, "
        f"{1000 * statistics.median(fixed):.0f} ms a call; 'predict steady' leaves that out)"
    )
    raw_train = statistics.median(rows["train"][1])
    print(f"data pipeline alone (augment + channels + geometry): {data_rate:.0f} images/s, "
          f"{100.0 * raw_train / data_rate:.1f}% of a raw training step")  # fmt: skip


if __name__ == "__main__":
    main()
