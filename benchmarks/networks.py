"""Parameters and training speed of the recipe's network families against smp's U-Net ResNet34.

    python benchmarks/networks.py                          # CPU, 2 threads, float32
    python benchmarks/networks.py --device cuda --precision bf16 --batch 32

Each family runs at its own input size (A: 224, B: 256, stage 3: 128), next to smp's U-Net with a
ResNet34 encoder at the same size; a forward + backward + optimizer step on random inputs in the
memory format and precision saltseg trains in, after warm-up steps. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from saltseg.nn.device import resolve_compute
from saltseg.nn.losses import SegLoss, total_loss
from saltseg.nn.network import build_model
from saltseg.nn.outputs import split_outputs
from saltseg.nn.spec import NetworkSpec
from saltseg.report import markdown_table

UNET_R34 = {"arch": "Unet", "encoder": "resnet34"}
B = {
    "arch": "SaltNet", "encoder": "resnet34", "encoder_attention": "scse", "center": "fpa",
    "hypercolumn": True, "decoder_attention": "scse",
}  # fmt: skip
# (family, network, input side, input channels)
FAMILIES = [
    ("A: U-Net ResNeXt50 + decoder scSE", {**UNET_R34, "encoder": "resnext50_32x4d",
                                          "decoder_attention": "scse"}, 224, 1),
    ("B: SaltNet ResNet34 (scSE, FPA, hypercolumn)", B, 256, 3),
    ("B stage 2: + deep supervision", {**B, "deep_supervision": True}, 256, 3),
    ("stage 3: resnet_34_pad_128", {**B, "stem": "stride1",
                                    "decoder_upsample": "transpose"}, 128, 3),
]  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_rate(network: dict, side: int, channels: int, args: argparse.Namespace) -> float:
    """Images/s of forward + loss + backward + step, in saltseg's memory format and precision."""
    compute = resolve_compute(args.device, args.threads, args.precision)
    torch.manual_seed(0)
    spec = NetworkSpec(**network)
    model = compute.prepare(build_model(spec, channels, pretrained=False)).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    criterion = SegLoss({"lovasz_elu": 1.0})
    x = compute.layout(torch.randn(args.batch, channels, side, side, device=compute.device))
    y = (torch.rand(args.batch, 1, side, side, device=compute.device) > 0.5).float()

    def step() -> None:
        with compute.autocast():
            out = split_outputs(model(x))
        loss = total_loss(out, y, criterion, spec)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    _sync(compute.device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(compute.device)
    return args.steps * args.batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", help="auto | bf16 | fp32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for family, network, side, channels in FAMILIES:
        n_params = sum(
            p.numel()
            for p in build_model(NetworkSpec(**network), channels, pretrained=False).parameters()
        )
        rate = train_rate(network, side, channels, args)
        baseline = train_rate(UNET_R34, side, channels, args)
        rows.append(
            {
                "family": family,
                "input": side,
                "params_M": n_params / 1e6,
                "img_s": rate,
                "unet_r34_img_s": baseline,
                "relative": rate / baseline,
            }
        )
        print(rows[-1], flush=True)
    print(f"\n{args.device} {args.precision}, batch {args.batch}, {args.threads} threads\n")
    print(markdown_table(pd.DataFrame(rows), floatfmt=".2f"))


if __name__ == "__main__":
    main()
