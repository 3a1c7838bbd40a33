"""Tiles/s of ``saltseg predict`` (a bundle on new tiles) against the raw forward rate.

    python benchmarks/predict_speed.py results/bundle --tiles 512 --threads 2

The raw rate times the networks alone: for each member's fold model, each snapshot and each
TTA view, one forward pass over the same tiles at the network's input size (random inputs, the
same batch size, channels-last, no I/O, no padding or flips, no post-processing). Its ratio to
the whole prediction is the share of time that goes to the networks themselves.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from saltseg.bundle.predict import load_bundle, predict_with_bundle
from saltseg.nn.device import resolve_compute
from saltseg.nn.geometry import Geometry
from saltseg.nn.network import build_model


def raw_seconds(bundle, n: int, compute) -> tuple[float, int]:
    """Seconds of the bare forward passes a bundle prediction of n tiles makes, and their count."""
    total, passes = 0.0, 0
    for member, ckpts in zip(bundle.members, bundle.checkpoints, strict=True):
        for ckpt in ckpts:
            spec = ckpt.spec
            side = Geometry.from_spec(spec.input).pad  # the network input side
            model = compute.prepare(build_model(spec.model, ckpt.in_channels, pretrained=False))
            model.eval()
            names = ckpt.select(member.predict.get("snapshots") or spec.predict.snapshots)
            views = 1 + len(member.predict.get("tta") or spec.predict.tta)
            batch = spec.predict.batch_size
            x = torch.randn(batch, ckpt.in_channels, side, side).to(
                compute.device, memory_format=torch.channels_last
            )
            with torch.no_grad(), compute.autocast():
                model(x)  # warm-up
                start = time.perf_counter()
                for _ in range(len(names) * views):
                    for first in range(0, n, batch):
                        model(x[: min(batch, n - first)])
                total += time.perf_counter() - start
            passes += len(names) * views
    return total, passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--tiles", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    compute = resolve_compute(args.device, args.threads, "auto")
    bundle = load_bundle(args.bundle)
    images = np.random.default_rng(0).integers(0, 256, (args.tiles, 101, 101), dtype=np.uint8)
    predict_with_bundle(bundle, images[:16], device=args.device, threads=args.threads)  # warm-up
    start = time.perf_counter()
    predict_with_bundle(bundle, images, device=args.device, threads=args.threads)
    whole = time.perf_counter() - start
    raw, passes = raw_seconds(bundle, args.tiles, compute)
    print(f"bundle {args.bundle}: {len(bundle.members)} members, {passes} forward passes per tile")
    print(f"saltseg predict: {args.tiles / whole:.1f} tiles/s ({whole:.1f} s for {args.tiles})")
    print(f"raw forward:     {args.tiles / raw:.1f} tiles/s ({raw:.1f} s); "
          f"networks take {100 * raw / whole:.0f}% of the prediction")  # fmt: skip


if __name__ == "__main__":
    main()
