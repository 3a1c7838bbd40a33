"""A finished run's figures on real (or synthetic) labels, as markdown tables.

    python benchmarks/run_summary.py RUN_DIR [--minutes 97.5]

For every stage's blend, each of its models and the final blend: the OOF metric at threshold
0.5 over the labelled tiles, split into tiles with empty and with salt truth; the pseudo-label
counts of each stage; the test score (``results/test_score.txt``, scored when the run had
answers); and the wall time per rule from the benchmark files. ``--minutes`` is the run's wall
time, when measured outside (benchmarks/real_cpu.sh does).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.config import stage_order
from saltseg.data.tileset import load_tileset
from saltseg.io.ids import id_rows
from saltseg.io.probs import load_probs
from saltseg.metric import image_scores
from saltseg.report import markdown_table, rule_times
from saltseg.steps.report import benchmark_seconds


def oof_row(name: str, path: Path, tile_set) -> dict:
    ids, maps = load_probs(path)
    rows, missing = id_rows(tile_set.ids, ids.astype(str))
    if missing:
        raise SystemExit(f"{path}: id {missing[0]!r} is not in the run's tile set")
    truth = np.asarray(tile_set.masks[rows])
    scores = image_scores(truth, maps > 0.5)
    empty = ~truth.reshape(len(truth), -1).any(axis=1)
    return {
        "predictions": name,
        "tiles": len(ids),
        "oof_metric": scores.mean(),
        "empty": scores[empty].mean() if empty.any() else np.nan,
        "non_empty": scores[~empty].mean() if (~empty).any() else np.nan,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--minutes", type=float, help="the run's wall time")
    args = ap.parse_args(argv)
    results = args.run_dir / "results"
    tile_set = load_tileset(results / "data")
    stages = stage_order([p.name for p in results.glob("stage*") if (p / "blend").is_dir()])
    rows = []
    for stage in stages:
        for model in sorted((results / stage / "models").glob("*/oof.npz")):
            rows.append(oof_row(f"{stage}/{model.parent.name}", model, tile_set))
        rows.append(oof_row(f"{stage} blend", results / stage / "blend" / "oof.npz", tile_set))
    if (results / "final" / "oof.npz").exists():
        rows.append(oof_row("final blend", results / "final" / "oof.npz", tile_set))
    if rows:
        print("OOF metric at threshold 0.5 (before post-processing):\n")
        print(markdown_table(pd.DataFrame(rows)))
    else:
        print(f"{results}: no stage has blended its folds yet")
    pseudo = {
        p.parent.parent.name: json.loads(p.read_text())
        for p in sorted(results.glob("stage*/pseudo/counts.json"))
    }
    if pseudo:
        print("\nPseudo labels:\n")
        print(markdown_table(pd.DataFrame(pseudo).T.rename_axis("stage").reset_index()))
    score = results / "test_score.txt"
    if score.exists():
        print("\n" + score.read_text().strip())
    times = rule_times(
        benchmark_seconds(sorted((results / "benchmarks").rglob("*.tsv")), results / "benchmarks")
    )
    if len(times):
        shown = times.assign(minutes=times["seconds"] / 60.0).drop(columns="seconds")
        total = times["seconds"].sum() / 60.0
        print(f"\nWall time per rule ({total:.1f} min of job time):\n")
        print(markdown_table(shown, ".2f"))
    if args.minutes is not None:
        print(f"\nwhole run: {args.minutes:.1f} min")


if __name__ == "__main__":
    main()
