"""The run report: OOF metric per stage and model, pseudo labels, test score, wall time per rule."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg.atomic import atomic_path

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4f") -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""

    def cell(v) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else format(v, floatfmt)
        return str(v)

    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def rule_times(benchmarks_dir: PathLike) -> pd.DataFrame:
    """Wall time per rule from Snakemake ``benchmark:`` files (results/benchmarks/.../<rule>.tsv).

    The rule is the file name without its fold number; the stage and model come from the folders.
    """
    rows = []
    root = Path(benchmarks_dir)
    for path in sorted(root.rglob("*.tsv")):
        try:
            seconds = float(pd.read_csv(path, sep="\t")["s"].iloc[0])
        except (OSError, KeyError, IndexError, ValueError, pd.errors.ParserError):
            logger.warning("%s: unreadable benchmark file, skipped", path)
            continue
        parts = path.relative_to(root).parts
        rule = re.sub(r"\d+$", "", path.stem)
        rows.append({"step": "/".join([*parts[:-1], rule]), "jobs": 1, "seconds": seconds})
    if not rows:
        return pd.DataFrame(columns=["step", "jobs", "seconds"])
    df = pd.DataFrame(rows).groupby("step", sort=False, as_index=False).sum()
    return df


def _read_json(path: PathLike) -> dict:
    return json.loads(Path(path).read_text())


def _plot(stage_tables: Mapping[str, pd.DataFrame], times: pd.DataFrame, out_png: PathLike) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 1.3]})
    labels, values, colours = [], [], []
    for stage, table in stage_tables.items():
        for row in table.itertuples():
            model = str(row.model)
            named = "/" in model or (stage == "final" and model != "blend")
            labels.append(model if named else f"{stage}\n{model}")
            values.append(row.oof_score)
            colours.append("tab:orange" if row.model == "blend" else "tab:blue")
    ax1.bar(range(len(values)), values, color=colours)
    ax1.set_xticks(range(len(values)), labels, rotation=60, ha="right", fontsize=7)
    ax1.set_ylabel("OOF metric at 0.5")
    ax1.set_ylim(max(0.0, min(values, default=0) - 0.1), 1.0)
    ax1.set_title("Out-of-fold metric (orange: blend)")
    for i, v in enumerate(values):
        ax1.text(i, v + 0.005, f"{v:.3f}", ha="center", fontsize=7)
    if len(times):
        t = times.sort_values("seconds")
        ax2.barh(t["step"], t["seconds"] / 60.0, color="tab:green")
        ax2.tick_params(axis="y", labelsize=7)
        ax2.set_xlabel("minutes (summed over jobs)")
        ax2.set_title("Wall time per rule")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def build_report(
    stage_scores: Sequence[PathLike],
    final_scores: PathLike,
    pseudo_counts: Sequence[PathLike],
    postprocess_stats: PathLike,
    ablation: PathLike,
    test_score: PathLike,
    out_md: PathLike,
    out_png: PathLike,
    *,
    mosaic_summary: PathLike | None = None,
    mosaic_png: PathLike | None = None,
    benchmarks_dir: PathLike = "results/benchmarks",
) -> None:
    """Collect the run's figures into a markdown report and a PNG."""
    stage_tables = {Path(p).parent.parent.name: pd.read_csv(p) for p in stage_scores}
    stage_tables["final"] = pd.read_csv(final_scores)
    times = rule_times(benchmarks_dir)
    lines = ["# saltseg report", ""]
    lines += ["## Test score", "", "```", Path(test_score).read_text().strip(), "```", ""]
    lines += ["![stages](report/stages.png)", ""]
    for stage, table in stage_tables.items():
        title = "Final blend" if stage == "final" else f"Stage {stage.removeprefix('stage')}"
        lines += [f"## {title}: out-of-fold metric", "", markdown_table(table), ""]
    for path in pseudo_counts:
        counts = _read_json(path)
        stage = Path(path).parent.parent.name
        lines += [f"## Pseudo labels for {stage}", ""]
        lines += [markdown_table(pd.DataFrame([counts])), ""]
    stats = pd.read_csv(postprocess_stats)
    lines += ["## Post-processing", "", markdown_table(stats), ""]
    abl = pd.read_csv(ablation)
    if len(abl):
        lines += ["Each rule's effect on the test score (test truth known):", ""]
        lines += [markdown_table(abl), ""]
    if mosaic_summary is not None:
        lines += ["## Mosaics", "", markdown_table(pd.DataFrame([_read_json(mosaic_summary)])), ""]
    if mosaic_png is not None:
        rel = os.path.relpath(mosaic_png, Path(out_md).parent)
        lines += [f"![largest mosaics: train masks red, test predictions green]({rel})", ""]
    if len(times):
        total = times["seconds"].sum()
        lines += [f"## Wall time per rule (total {total / 60:.1f} min of job time)", ""]
        shown = times.assign(minutes=times["seconds"] / 60.0).drop(columns="seconds")
        lines += [markdown_table(shown, ".2f"), ""]
    lines += [
        "Training curves: `results/<stage>/<model>/fold<k>/curves.png`; "
        "per-epoch figures: `history.csv` beside them.",
        "",
    ]
    _plot(stage_tables, times, out_png)
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(lines))
