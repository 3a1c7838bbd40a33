"""The final blend's OOF metric at several weights of the first stage, for finished runs.

    python benchmarks/blend_weights.py RUN_DIR [RUN_DIR ...] [--stages stage1 stage2]
        [--weights 0 0.2 0.3 0.4 0.5]

Each RUN_DIR is a workflow run whose two stages' blends exist (``results/<stage>/blend/oof.npz``).
For each weight w of the first stage (the second gets 1 - w) the two OOF maps are averaged as
``final.blend`` would average them (and rounded as the saved file would be), then scored as the
blend's score table scores them: the metric at 0.5, at the best threshold, and with the best
``empty_below`` after it. Prints a markdown table, one row per run and weight. The weights are
chosen on the same OOF tiles they are scored on, so a lead of a few thousandths is an upper
bound of what the weight is worth on new tiles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from saltseg.blend import score_row, weighted_mean
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.probs import dequantize, load_probs, quantize
from saltseg.report import markdown_table


def weight_rows(run: Path, stages: list[str], weights: list[float]) -> list[dict]:
    """One score row per weight of ``stages[0]`` for the run folder ``run``."""
    first, second = (run / "results" / s / "blend" / "oof.npz" for s in stages)
    for path in (first, second):
        if not path.is_file():
            raise SaltsegError(f"{path}: no such file (has the run finished that stage?)")
    maps = [(str(path), *load_probs(path)) for path in (first, second)]
    # The blends below follow the first map's tile order (weighted_mean aligns the second).
    ids = maps[0][1].astype(str)
    truth = load_tileset(run / "results" / "data" / "tiles.parquet").train_masks(ids)
    rows = []
    for w in weights:
        _, blended = weighted_mean(maps, [w, 1.0 - w])
        row = score_row(f"{stages[0]} {w:g}", w, truth, dequantize(quantize(blended)))
        rows.append({"run": str(run), **row})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="finished workflow run folders")
    ap.add_argument("--stages", nargs=2, default=["stage1", "stage2"], metavar="STAGE")
    ap.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.2, 0.3, 0.4, 0.5])
    args = ap.parse_args(argv)
    if any(not 0.0 <= w <= 1.0 for w in args.weights):
        ap.error(f"--weights must lie in [0, 1], got {args.weights}")
    try:
        rows = [r for run in args.runs for r in weight_rows(run, args.stages, args.weights)]
    except SaltsegError as err:
        print(f"blend_weights: {err}", file=sys.stderr)
        return 1
    table = pd.DataFrame(rows).drop(columns=["weight"])
    print(markdown_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
