"""Channels-last against NCHW on the CPU: training and inference images/s of smp U-Nets.

    python benchmarks/layout.py            # 2 threads, float32, batch 16

Alternates the two memory formats round by round on the same model and inputs (a shared
machine drifts) and prints the median images/s of each; saltseg trains and predicts in
channels-last (saltseg.nn.device.Compute.layout).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch

from saltseg.nn.network import build_model
from saltseg.nn.outputs import split_outputs
from saltseg.nn.spec import NetworkSpec
from saltseg.report import markdown_table

NETWORKS = [
    ("ResNet18 depth 3, [32,16,16], 56 -> 64", {"encoder": "resnet18", "encoder_depth": 3,
                                                 "decoder_channels": [32, 16, 16]}, 64),
    ("ResNet18 depth 4, [64,32,16,16], 56 -> 64 (demo, cpu.yaml)",
     {"encoder": "resnet18", "encoder_depth": 4, "decoder_channels": [64, 32, 16, 16]}, 64),
    ("ResNet34 depth 5, [128,64,32,16,16] + scSE, 128",
     {"encoder": "resnet34", "decoder_channels": [128, 64, 32, 16, 16],
      "decoder_attention": "scse"}, 128),
]  # fmt: skip


def rates(network: dict, side: int, channels_last: bool, args) -> tuple[float, float]:
    """(training, inference) images/s of one model in one memory format."""
    torch.manual_seed(0)
    model = build_model(NetworkSpec(**network), 2, pretrained=False)
    x = torch.randn(args.batch, 2, side, side)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    split_outputs(model(x)).mask.mean().backward()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        optimizer.zero_grad(set_to_none=True)
        split_outputs(model(x)).mask.square().mean().backward()
        optimizer.step()
    train = args.steps * args.batch / (time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        model(x)
        start = time.perf_counter()
        for _ in range(args.steps):
            model(x)
    return train, args.steps * args.batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name, network, side in NETWORKS:
        got = {False: [], True: []}
        for _ in range(args.rounds):
            for cl in (False, True):
                got[cl].append(rates(network, side, cl, args))
        med = {cl: [statistics.median(r[i] for r in got[cl]) for i in (0, 1)] for cl in got}
        rows.append(
            {
                "network": name,
                "train NCHW": med[False][0],
                "train channels-last": med[True][0],
                "inference NCHW": med[False][1],
                "inference channels-last": med[True][1],
            }
        )
        print(rows[-1], flush=True)
    print(f"\nimages/s, float32, batch {args.batch}, {args.threads} threads\n")
    print(markdown_table(pd.DataFrame(rows), floatfmt=".1f"))


if __name__ == "__main__":
    main()
