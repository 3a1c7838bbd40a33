import json

import numpy as np
import pandas as pd

from saltseg.report import build_report, markdown_table, rule_times


def write_benchmark(path, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t100\n")


def test_markdown_table():
    df = pd.DataFrame({"model": ["a", "blend"], "score": [0.5, np.nan]})
    assert markdown_table(df).splitlines() == [
        "| model | score |",
        "|---|---|",
        "| a | 0.5000 |",
        "| blend |  |",
    ]


def test_rule_times_sum_folds_per_rule(tmp_path):
    write_benchmark(tmp_path / "stage1" / "a" / "train_fold0.tsv", 10.0)
    write_benchmark(tmp_path / "stage1" / "a" / "train_fold1.tsv", 14.0)
    write_benchmark(tmp_path / "build_mosaic.tsv", 3.0)
    times = rule_times(tmp_path).set_index("step")
    assert times.loc["stage1/a/train_fold", "seconds"] == 24.0
    assert times.loc["stage1/a/train_fold", "jobs"] == 2
    assert times.loc["build_mosaic", "seconds"] == 3.0


def test_build_report(tmp_path):
    scores = pd.DataFrame(
        {
            "model": ["stage1/a", "blend"],
            "weight": [1.0, 1.0],
            "images": [10, 10],
            "oof_score": [0.7, 0.7],
            "best_threshold": [0.45, 0.45],
            "best_score": [0.72, 0.72],
        }
    )
    (tmp_path / "stage1" / "ensemble").mkdir(parents=True)
    scores.to_csv(tmp_path / "stage1" / "ensemble" / "scores.csv", index=False)
    scores.to_csv(tmp_path / "final.csv", index=False)
    (tmp_path / "stage2" / "pseudo").mkdir(parents=True)
    (tmp_path / "stage2" / "pseudo" / "counts.json").write_text(json.dumps({"kept": 7}))
    pd.DataFrame({"step": ["threshold"], "tiles_changed": [3]}).to_csv(
        tmp_path / "stats.csv", index=False
    )
    pd.DataFrame(columns=["variant", "score"]).to_csv(tmp_path / "ablation.csv", index=False)
    (tmp_path / "score.txt").write_text("test score: 0.8123 on 10 images\n")
    write_benchmark(tmp_path / "bench" / "stage1" / "a" / "train_fold0.tsv", 60.0)
    build_report(
        [tmp_path / "stage1" / "ensemble" / "scores.csv"],
        tmp_path / "final.csv",
        [tmp_path / "stage2" / "pseudo" / "counts.json"],
        tmp_path / "stats.csv",
        tmp_path / "ablation.csv",
        tmp_path / "score.txt",
        tmp_path / "report.md",
        tmp_path / "report" / "stages.png",
        benchmarks_dir=tmp_path / "bench",
    )
    text = (tmp_path / "report.md").read_text()
    assert "test score: 0.8123" in text
    assert "## Stage 1: out-of-fold metric" in text and "| stage1/a | 1.0000 | 10 | 0.7000" in text
    assert "## Pseudo labels for stage2" in text and "| 7 |" in text
    assert "stage1/a/train_fold" in text and "total 1.0 min" in text
    assert (tmp_path / "report" / "stages.png").stat().st_size > 1000
