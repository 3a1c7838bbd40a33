"""The run report: OOF metric per stage and model, pseudo labels, test score, wall time per rule.

Tables in, markdown text and a matplotlib figure out; saltseg.steps.report reads the run's files
and writes ``results/report.md`` and its picture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


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


def rule_times(benchmarks: Mapping[str, float]) -> pd.DataFrame:
    """Seconds per rule from Snakemake benchmark files, keyed by their path under the benchmarks
    folder (``<stage>/<model>/train_fold3.tsv``): the rule is the file name without its fold
    number, the stage and model come from the folders; folds are summed."""
    rows = []
    for rel, seconds in benchmarks.items():
        *folders, name = rel.split("/")
        rule = re.sub(r"\d+$", "", name.removesuffix(".tsv"))
        rows.append({"rule": "/".join([*folders, rule]), "jobs": 1, "seconds": float(seconds)})
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "seconds"])
    return pd.DataFrame(rows).groupby("rule", sort=False, as_index=False).sum()


def stages_figure(stage_tables: Mapping[str, pd.DataFrame], times: pd.DataFrame) -> Figure:
    """OOF metric of every model and blend (left), wall time per rule (right)."""
    # A bare Figure (no pyplot): nothing global to set up or close, and no GUI backend.
    fig = Figure(figsize=(13, 4.8))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
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
        ax2.barh(t["rule"], t["seconds"] / 60.0, color="tab:green")
        ax2.tick_params(axis="y", labelsize=7)
        ax2.set_xlabel("minutes (summed over jobs)")
        ax2.set_title("Wall time per rule")
    fig.tight_layout()
    return fig


def report_markdown(
    test_score: str,
    stage_tables: Mapping[str, pd.DataFrame],
    pseudo_counts: Mapping[str, dict],
    postprocess_stats: pd.DataFrame,
    ablation: pd.DataFrame,
    times: pd.DataFrame,
    *,
    figure: str,
    oof_ablation: pd.DataFrame | None = None,
    mosaic_summary: dict | None = None,
    mosaic_png: str | None = None,
    predictions_png: str | None = None,
) -> str:
    """The report's markdown; ``figure`` and the other pictures are paths relative to it."""
    lines = ["# saltseg report", ""]
    lines += ["## Test score", "", "```", test_score.strip(), "```", ""]
    lines += [f"![stages]({figure})", ""]
    for stage, table in stage_tables.items():
        title = "Final blend" if stage == "final" else f"Stage {stage.removeprefix('stage')}"
        lines += [f"## {title}: out-of-fold metric", "", markdown_table(table), ""]
    if predictions_png is not None:
        lines += ["## Predictions", "", f"![out-of-fold predictions]({predictions_png})", ""]
    for stage, counts in pseudo_counts.items():
        lines += [f"## Pseudo labels for {stage}", ""]
        lines += [markdown_table(pd.DataFrame([counts])), ""]
    lines += ["## Post-processing", "", markdown_table(postprocess_stats), ""]
    if oof_ablation is not None and len(oof_ablation):
        full = oof_ablation.set_index("variant").loc["full", "score"]
        lines += [
            f"OOF metric after post-processing: {full:.4f} over the labelled tiles (their "
            "out-of-fold maps post-processed fold by fold as the test maps are); each rule's "
            "effect:",
            "",
            markdown_table(oof_ablation),
            "",
        ]
    if len(ablation):
        lines += ["Each rule's effect on the test score (test truth known):", ""]
        lines += [markdown_table(ablation), ""]
    if mosaic_summary is not None:
        lines += ["## Mosaics", "", markdown_table(pd.DataFrame([mosaic_summary])), ""]
    if mosaic_png is not None:
        lines += [f"![largest mosaics: train masks red, test predictions green]({mosaic_png})", ""]
    if len(times):
        total = times["seconds"].sum()
        lines += [f"## Wall time per rule (total {total / 60:.1f} min of job time)", ""]
        shown = times.assign(minutes=times["seconds"] / 60.0).drop(columns="seconds")
        lines += [markdown_table(shown, ".2f"), ""]
    lines += [
        "Training curves: `results/<stage>/models/<model>/fold<k>/curves.png`; "
        "per-epoch figures: `history.csv` beside them.",
        "",
    ]
    return "\n".join(lines)
