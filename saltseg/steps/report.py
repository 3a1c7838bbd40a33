"""Step of workflow/rules/report.smk: the run's figures collected into a markdown report."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from saltseg import report as report_lib
from saltseg.data.tileset import load_tileset
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.figures import save_figure
from saltseg.io.ids import id_rows
from saltseg.io.probs import load_probs
from saltseg.prediction_figure import pick_examples, predictions_figure
from saltseg.steps.blend import read_oof_threshold

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike


def _stage_of(path: PathLike) -> str:
    """The stage of ``results/<stage>/blend/...`` or ``results/<stage>/pseudo/...``."""
    return Path(path).parent.parent.name


BENCHMARKS = "results/benchmarks"  # where the rules write their benchmark files


def benchmark_seconds(files: Sequence[PathLike], root: PathLike = BENCHMARKS) -> dict[str, float]:
    """Seconds of each Snakemake benchmark file, keyed by its path below ``root``."""
    out = {}
    for path in map(Path, files):
        try:
            seconds = float(pd.read_csv(path, sep="\t")["s"].iloc[0])
        except (OSError, KeyError, IndexError, ValueError, pd.errors.ParserError):
            logger.warning("%s: unreadable benchmark file, skipped", path)
            continue
        key = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
        out[key.as_posix()] = seconds
    return out


def plot_predictions(
    tiles: PathLike,
    oof: PathLike,
    png: PathLike,
    *,
    scores: PathLike | None = None,
    threshold: float | str = 0.5,
    n: int = 12,
) -> None:
    """Out-of-fold predictions of the final blend on ``n`` labelled tiles across the range of
    salt coverage: tile, true mask, probability (the rows of ``pick_examples``), scored at the
    submission's ``threshold`` ("oof": the final blend's best, from ``scores``)."""
    if threshold == "oof":
        if scores is None:
            raise SaltsegError("plot_predictions: threshold oof needs the final score table")
        threshold = read_oof_threshold(scores)
    threshold = float(threshold)
    ids, maps = load_probs(oof)
    ids = ids.astype(str)
    tile_set = load_tileset(tiles)
    rows, missing = id_rows(tile_set.ids, ids)
    if missing:
        raise SaltsegError(f"{oof}: id {missing[0]!r} is not in the prepared data")
    truth = np.asarray(tile_set.masks[rows])
    pick = pick_examples(truth, n)
    fig = predictions_figure(
        np.asarray(tile_set.images[rows[pick]]),
        truth[pick],
        maps[pick],
        ids[pick],
        threshold=threshold,
        title=f"Out-of-fold predictions of the final blend ({len(ids)} labelled tiles; "
        "white: the threshold's contour)",
    )
    save_figure(fig, png, dpi=80)


def report(
    stage_scores: Sequence[PathLike],
    final_scores: PathLike,
    pseudo_counts: Sequence[PathLike],
    stats: PathLike,
    ablation: PathLike,
    score: PathLike,
    markdown: PathLike,
    figure: PathLike,
    *,
    oof_ablation: PathLike | None = None,
    mosaic_summary: PathLike | None = None,
    mosaic_png: PathLike | None = None,
    predictions_png: PathLike | None = None,
    benchmarks: Sequence[PathLike] = (),
    benchmarks_root: PathLike = BENCHMARKS,
) -> None:
    """OOF metric per stage and model, pseudo labels, post-processing, mosaics, wall times."""
    stage_tables = {_stage_of(p): pd.read_csv(p) for p in stage_scores}
    stage_tables["final"] = pd.read_csv(final_scores)
    times = report_lib.rule_times(benchmark_seconds(benchmarks, benchmarks_root))
    here = Path(markdown).parent
    text = report_lib.report_markdown(
        Path(score).read_text(),
        stage_tables,
        {_stage_of(p): json.loads(Path(p).read_text()) for p in pseudo_counts},
        pd.read_csv(stats),
        pd.read_csv(ablation),
        times,
        figure=os.path.relpath(figure, here),
        oof_ablation=pd.read_csv(oof_ablation) if oof_ablation else None,
        mosaic_summary=json.loads(Path(mosaic_summary).read_text()) if mosaic_summary else None,
        mosaic_png=os.path.relpath(mosaic_png, here) if mosaic_png else None,
        predictions_png=os.path.relpath(predictions_png, here) if predictions_png else None,
    )
    save_figure(report_lib.stages_figure(stage_tables, times), figure, dpi=110)
    with atomic_path(markdown) as tmp:
        tmp.write_text(text)
