"""A finished run's figures on real (or synthetic) labels, as markdown tables.

    python benchmarks/run_summary.py RUN_DIR [--minutes 97.5] [--answers ANSWERS_CSV]

For every stage's blend, each of its models and the final blend: the OOF metric at threshold
0.5 over the labelled tiles, split into tiles with empty and with salt truth; the pseudo-label
counts of each stage; the test score (``results/test_score.txt``, scored when the run had
answers); and the wall time per rule from the benchmark files. ``--minutes`` is the run's wall
time, when measured outside (benchmarks/real_cpu.sh does). ``--answers`` (the run's
``data.answers``, e.g. a held-out split's) adds the held-out score of every stage's blend and
of the final blend, before post-processing, at 0.5, at the blend's OOF threshold and with its
OOF empty_below level too: what each stage adds on tiles that no stage trained on. Under the
OOF table, each blend at its OOF threshold and empty_below over all the labelled tiles, the
blank ones (which have no fold) predicted empty as the blank-tile rule predicts them; then,
where the run has it, the OOF metric after post-processing (results/postprocess/oof_ablation.csv:
the final blend's out-of-fold maps post-processed as the test maps are, mosaic rules included).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.config import stage_order
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.ids import id_rows
from saltseg.io.probs import load_probs
from saltseg.io.submission import read_answers
from saltseg.metric import image_scores
from saltseg.postprocess import binarise
from saltseg.report import markdown_table, rule_times
from saltseg.steps.blend import read_oof_empty_below, read_oof_threshold
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


def all_labelled_line(name: str, blend_dir: Path, tile_set) -> str:
    """The OOF metric of a blend at its OOF threshold and empty_below over every labelled tile,
    the blank ones (out of the folds) scored as predicted empty."""
    ids, maps = load_probs(blend_dir / "oof.npz")
    threshold = read_oof_threshold(blend_dir / "scores.csv")
    try:
        level = read_oof_empty_below(blend_dir / "scores.csv")
    except SaltsegError:  # a table of an older run, without the column
        level = None
    masks = binarise(maps, threshold, level)
    rows, _ = id_rows(tile_set.ids, ids.astype(str))
    scores = image_scores(np.asarray(tile_set.masks[rows]), masks)
    train = tile_set.rows_of("train")
    blank = train[tile_set.table["blank"].to_numpy(dtype=bool)[train]]
    blank_truth = np.asarray(tile_set.masks[blank])
    blank_scores = image_scores(blank_truth, np.zeros_like(blank_truth, dtype=bool))
    total = (scores.sum() + blank_scores.sum()) / (len(scores) + len(blank_scores))
    return (
        f"{name} over all {len(scores) + len(blank)} labelled tiles, the {len(blank)} blank ones "
        f"predicted empty (mean {blank_scores.mean():.3f} there): {total:.4f} at its OOF threshold "
        f"{threshold:g} and empty_below {level}, against {scores.mean():.4f} without them"
    )


def heldout_row(name: str, blend_dir: Path, answers: Path) -> dict:
    """The held-out score of a blend's test maps, on the answered tiles only."""
    ids, maps = load_probs(blend_dir / "test.npz")
    among = f"the test tiles of {blend_dir}"
    at, truth = read_answers(answers, ids.astype(str).tolist(), among=among)
    empty = ~truth.reshape(len(truth), -1).any(axis=1)
    threshold = read_oof_threshold(blend_dir / "scores.csv")
    row = {"predictions": name, "tiles": len(at)}
    for label, t in (("0.5", 0.5), ("OOF threshold", threshold)):
        scores = image_scores(truth, maps[at] > t)
        row[f"at {label}"] = scores.mean()
        if t == 0.5:
            row["empty"] = scores[empty].mean() if empty.any() else np.nan
            row["non_empty"] = scores[~empty].mean() if (~empty).any() else np.nan
    row["threshold"] = threshold
    try:  # the blend's OOF empty_below level
        level = read_oof_empty_below(blend_dir / "scores.csv")
    except SaltsegError:  # a table of an older run, without the column (read_oof_threshold
        return row  # above has checked the rest of the table)
    masks = binarise(maps[at], threshold, level)
    row["with OOF empty_below"] = image_scores(truth, masks).mean()
    row["empty_below"] = np.nan if level is None else level
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--minutes", type=float, help="the run's wall time")
    ap.add_argument("--answers", type=Path, help="the run's data.answers: held-out scores")
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
    blends = [(f"{stage} blend", results / stage / "blend") for stage in stages]
    blends.append(("final blend", results / "final"))
    if rows:
        print("OOF metric at threshold 0.5 (before post-processing):\n")
        print(markdown_table(pd.DataFrame(rows)))
        print()
        for name, d in blends:
            if (d / "oof.npz").exists() and (d / "scores.csv").exists():
                print(all_labelled_line(name, d, tile_set))
    else:
        print(f"{results}: no stage has blended its folds yet")
    oof_ablation = results / "postprocess" / "oof_ablation.csv"
    if oof_ablation.exists():
        print("\nOOF metric after post-processing, every labelled tile (postprocess_oof):\n")
        print(markdown_table(pd.read_csv(oof_ablation)))
    if args.answers is not None:
        held = [heldout_row(n, d, args.answers) for n, d in blends if (d / "test.npz").exists()]
        print("\nHeld-out score (answered test tiles, before post-processing):\n")
        print(markdown_table(pd.DataFrame(held)))
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
    try:
        main()
    except SaltsegError as e:
        raise SystemExit(f"error: {e}") from None
