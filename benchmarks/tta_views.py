"""Test-time views beyond hflip, measured on a finished run's out-of-fold tiles.

    python benchmarks/tta_views.py DATA_DIR RUN_DIR [--stage stage1] [--model NAME] [--threads 2]

RUN_DIR is a finished run on DATA_DIR's labelled tiles; every fold model of the stage
(results/<stage>/models/<model>/fold<k>/model.pt, its final snapshot) predicts its own
out-of-fold tiles through each view: the identity, hflip, shifts of the tile by 3 and 6 pixels
(reflected at the border, shifted back afterwards) and the tile resized to a few pixels more or
less than the network's input. Prints the OOF metric of each view and of view means at 0.5,
at the best threshold and with ``empty_below`` (as the blend step picks them), as markdown.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from saltseg.blend import best_empty_below, best_threshold
from saltseg.data.kaggle import read_tiles
from saltseg.io.probs import load_probs
from saltseg.metric import image_scores
from saltseg.nn.checkpoint import load_checkpoint
from saltseg.nn.device import resolve_compute
from saltseg.nn.feed import eval_batches, to_inputs
from saltseg.nn.geometry import Geometry
from saltseg.nn.predict import predict_views, prepared_network
from saltseg.nn.samples import Samples


@dataclass(frozen=True)
class View:
    flip: bool = False
    dy: int = 0
    dx: int = 0
    resize_by: int = 0  # pixels added to the geometry's resize


VIEWS = {
    "identity": View(),
    "hflip": View(flip=True),
    **{f"shift {dy:+d},{dx:+d}": View(dy=dy, dx=dx)
       for s in (3, 6) for dy, dx in ((s, 0), (-s, 0), (0, s), (0, -s))},
    **{f"resize {r:+d}": View(resize_by=r) for r in (-6, 6)},
    **{f"hflip, resize {r:+d}": View(flip=True, resize_by=r) for r in (-6, 6)},
}  # fmt: skip


def _shifts(by: int) -> list[str]:
    return [k for k, v in VIEWS.items() if by in (abs(v.dy), abs(v.dx))]


MEANS = {
    "identity + hflip (the recipe's)": ["identity", "hflip"],
    "+ shifts of 3 px": ["identity", "hflip", *_shifts(3)],
    "+ shifts of 6 px": ["identity", "hflip", *_shifts(6)],
    "+ resize +6": ["identity", "hflip", "resize +6", "hflip, resize +6"],
    "+ resize -6": ["identity", "hflip", "resize -6", "hflip, resize -6"],
    "all views": list(VIEWS),
}  # fmt: skip


def shift(t: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``t`` (B, C, H, W) moved by (dy, dx) pixels, the border reflected into the gap."""
    p = max(abs(dy), abs(dx))
    if p == 0:
        return t
    padded = F.pad(t, (p, p, p, p), mode="reflect")
    return padded[..., p - dy : p - dy + t.shape[-2], p - dx : p - dx + t.shape[-1]]


def view_probs(net, x: torch.Tensor, geometry: Geometry, view: View, compute) -> np.ndarray:
    """The view's salt probabilities (B, 101, 101), moved back onto the tile: the view is made
    on the 101-px input, then the prediction path's own identity view runs on it."""
    if view.resize_by:
        geometry = replace(geometry, resize=geometry.inner + view.resize_by)
    xi = shift(torch.flip(x, dims=[-1]) if view.flip else x, view.dy, view.dx)
    p = shift(predict_views(net, xi, geometry, [], compute)[0][:, None], -view.dy, -view.dx)[:, 0]
    return (torch.flip(p, dims=[-1]) if view.flip else p).float().cpu().numpy()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("run_dir")
    ap.add_argument("--stage", default="stage1")
    ap.add_argument("--model", help="the stage's model (default: its only one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--limit", type=int, help="the first N out-of-fold tiles per fold (a check)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    models = Path(args.run_dir, "results", args.stage, "models")
    if not models.is_dir():
        raise SystemExit(f"{models}: no such folder (a finished run of {args.stage}?)")
    names = [args.model] if args.model else sorted(p.name for p in models.iterdir() if p.is_dir())
    if len(names) != 1:
        raise SystemExit(f"{models}: choose one of {names} with --model")
    folds = sorted(models.joinpath(names[0]).glob("fold*/model.pt"))
    if not folds:
        raise SystemExit(f"{models / names[0]}: no fold models")

    tiles = read_tiles(args.data_dir)
    row_of = {k: i for i, k in enumerate(tiles.table["id"].astype(str))}
    depths = tiles.depths()
    compute = resolve_compute("cpu", args.threads, "fp32")
    probs: dict[str, list[np.ndarray]] = {k: [] for k in VIEWS}
    ids: list[str] = []
    for path in folds:
        start = time.perf_counter()
        fold_ids = load_probs(path.parent / "oof.npz")[0].astype(str)[: args.limit]
        rows = np.array([row_of[i] for i in fold_ids])
        samples = Samples(tiles.images[rows], None, depths[rows])
        ckpt = load_checkpoint(path)
        net = prepared_network(ckpt, compute)
        net.load_state_dict(ckpt.snapshots["final"])
        geometry = Geometry.of_model(ckpt.spec)
        ids.extend(fold_ids)
        for name, view in VIEWS.items():
            out = [
                view_probs(net, to_inputs(images, z, ckpt.spec, compute), geometry, view, compute)
                for _, images, z in eval_batches(samples, args.batch_size)
            ]
            probs[name].append(np.concatenate(out))
        seconds = time.perf_counter() - start
        logging.warning("%s: %d tiles, %.0f s", path.parent.name, len(rows), seconds)

    truth = np.asarray(tiles.masks[[row_of[i] for i in ids]], dtype=bool)
    stacked = {k: np.concatenate(v) for k, v in probs.items()}
    print(f"{len(ids)} out-of-fold tiles, {len(folds)} fold models of {args.stage}/{names[0]}\n")
    print("| views (OOF) | metric at 0.5 | best threshold | then `empty_below` |")
    print("|---|---|---|---|")
    rows_out = [(k, [k]) for k in VIEWS] + list(MEANS.items())
    for label, keys in rows_out:
        p = np.mean([stacked[k] for k in keys], axis=0)
        at_half = image_scores(truth, p > 0.5).mean()
        t, s_t = best_threshold(truth, p)
        level, s_e = best_empty_below(truth, p, t)
        print(f"| {label} | {at_half:.4f} | {s_t:.4f} at {t:.2f} | {s_e:.4f} with {level} |")


if __name__ == "__main__":
    main()
