"""Tiles/s of prediction with and without ``predict.compile`` (torch.compile) for a config's model.

    python benchmarks/compile_speed.py config/cpu.yaml --tiles 1024 --threads 2

Builds the model of ``stages.STAGE.models.MODEL`` with random weights, then times
saltseg.nn.predict.predict_maps on the same random tiles (the model's TTA and batch size):
first compiled (the seconds of its first call include compiling; a second compiled call shows
the rate once compiled), then plain, alternating for ``--rounds``. Inductor caches compiled
graphs on disk (TORCHINDUCTOR_CACHE_DIR), so a second run of this script compiles in seconds.
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

from saltseg.nn.checkpoint import load_checkpoint, save_checkpoint
from saltseg.nn.network import build_model
from saltseg.nn.predict import predict_maps
from saltseg.nn.samples import Samples
from saltseg.nn.spec import ModelSpec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="a workflow config, e.g. config/cpu.yaml")
    p.add_argument("--stage", default="stage1")
    p.add_argument("--model", help="model name (default: the stage's first)")
    p.add_argument("--tiles", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    if args.rounds < 1 or args.tiles < 1:
        p.error("--rounds and --tiles must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    models = yaml.safe_load(Path(args.config).read_text())["stages"][args.stage]["models"]
    name = args.model or next(iter(models))
    spec = ModelSpec.from_dict(models[name], source=f"{args.config}: {name}")
    rng = np.random.default_rng(0)
    samples = Samples(
        rng.integers(0, 256, (args.tiles, 101, 101), dtype=np.uint8),
        None,
        rng.uniform(0, 1, args.tiles).astype(np.float32),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        torch.manual_seed(0)
        model = build_model(spec.model, spec.in_channels, pretrained=False)
        save_checkpoint(path, {"final": model.state_dict()}, spec, spec.in_channels)
        ckpt = load_checkpoint(path)
    kw = {"device": "cpu", "threads": args.threads, "snapshots": "final", "progress": False}

    def rate(compile: bool) -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        maps, _ = predict_maps(ckpt, samples, compile=compile, **kw)
        return args.tiles / (time.perf_counter() - start), maps

    first, compiled_maps = rate(True)
    rates: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for compile in (True, False):
            r, maps = rate(compile)
            rates[compile].append(r)
            if not compile:
                plain_maps = maps
    diff = float(np.abs(compiled_maps - plain_maps).max())
    plain, compiled = statistics.median(rates[False]), statistics.median(rates[True])
    tta = spec.predict.tta or "none"
    print(f"model {name} of {args.config}: TTA {tta}, batch {spec.predict.batch_size}, "
          f"{args.tiles} tiles, {args.threads} threads")  # fmt: skip
    print(f"  first compiled call (compiling included): {first:.1f} tiles/s")
    print(f"  plain:    {plain:.1f} tiles/s")
    print(f"  compiled: {compiled:.1f} tiles/s ({compiled / plain:.2f}x)")
    print(f"  largest difference of the probabilities: {diff:.1e}")


if __name__ == "__main__":
    main()
