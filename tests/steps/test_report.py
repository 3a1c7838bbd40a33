"""The report step: the run's files collected into markdown and a picture."""

import json

import numpy as np
import pandas as pd
import pytest

from saltseg.data.tileset import TileSet, save_tileset
from saltseg.errors import SaltsegError
from saltseg.io.probs import save_probs
from saltseg.steps.report import plot_predictions, report


def write_benchmark(path, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:01\t100\n")


def test_report_step(tmp_path):
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
    (tmp_path / "stage1" / "blend").mkdir(parents=True)
    scores.to_csv(tmp_path / "stage1" / "blend" / "scores.csv", index=False)
    scores.to_csv(tmp_path / "final.csv", index=False)
    (tmp_path / "stage2" / "pseudo").mkdir(parents=True)
    (tmp_path / "stage2" / "pseudo" / "counts.json").write_text(json.dumps({"kept": 7}))
    pd.DataFrame({"step": ["threshold"], "tiles_changed": [3]}).to_csv(
        tmp_path / "stats.csv", index=False
    )
    pd.DataFrame(columns=["variant", "score"]).to_csv(tmp_path / "ablation.csv", index=False)
    pd.DataFrame(
        {"variant": ["full", "no mosaic"], "threshold": 0.45, "score": [0.81, 0.8],
         "delta": [0.0, -0.01], "nonempty": 6}
    ).to_csv(tmp_path / "oof_ablation.csv", index=False)  # fmt: skip
    (tmp_path / "score.txt").write_text("test score: 0.8123 on 10 images\n")
    write_benchmark(tmp_path / "bench" / "stage1" / "a" / "train_fold0.tsv", 60.0)
    (tmp_path / "bench" / "broken.tsv").write_text("not a benchmark")
    benchmarks = [
        tmp_path / "bench" / "stage1" / "a" / "train_fold0.tsv",
        tmp_path / "bench" / "broken.tsv",
    ]
    report(
        [tmp_path / "stage1" / "blend" / "scores.csv"],
        tmp_path / "final.csv",
        [tmp_path / "stage2" / "pseudo" / "counts.json"],
        tmp_path / "stats.csv",
        tmp_path / "ablation.csv",
        tmp_path / "score.txt",
        tmp_path / "report.md",
        tmp_path / "report" / "stages.png",
        oof_ablation=tmp_path / "oof_ablation.csv",
        benchmarks=benchmarks,
        benchmarks_root=tmp_path / "bench",
    )
    text = (tmp_path / "report.md").read_text()
    assert "test score: 0.8123" in text
    assert "## Stage 1: out-of-fold metric" in text and "| stage1/a | 1.0000 | 10 | 0.7000" in text
    assert "## Pseudo labels for stage2" in text and "| 7 |" in text
    assert "stage1/a/train_fold" in text and "total 1.0 min" in text
    assert "![stages](report/stages.png)" in text
    assert "OOF metric after post-processing: 0.8100" in text and "| no mosaic |" in text
    assert (tmp_path / "report" / "stages.png").stat().st_size > 1000


def test_plot_predictions_draws_oof_tiles(tmp_path):
    n = 6
    images = np.random.default_rng(0).integers(0, 255, (n, 101, 101), dtype=np.uint8)
    masks = np.zeros((n, 101, 101), bool)
    for k in range(1, n):
        masks[k, : 15 * k] = True
    table = pd.DataFrame({"id": [f"t{k}" for k in range(n)], "split": "train", "z": 1.0,
                          "coverage": masks.mean(axis=(1, 2)), "blank": False})  # fmt: skip
    save_tileset(TileSet(table, images, masks), tmp_path / "data")
    save_probs(tmp_path / "oof.npz", table["id"][::-1], masks[::-1] * 0.9)
    plot_predictions(tmp_path / "data", tmp_path / "oof.npz", tmp_path / "p.png", n=4)
    assert (tmp_path / "p.png").stat().st_size > 10_000
    pd.DataFrame({"model": ["blend"], "best_threshold": [0.4]}).to_csv(tmp_path / "s.csv")
    plot_predictions(  # at the submission's threshold: the final blend's best OOF one
        tmp_path / "data", tmp_path / "oof.npz", tmp_path / "o.png",
        scores=tmp_path / "s.csv", threshold="oof",
    )  # fmt: skip
    assert (tmp_path / "o.png").stat().st_size > 10_000
    with pytest.raises(SaltsegError, match="threshold oof needs the final score table"):
        plot_predictions(
            tmp_path / "data", tmp_path / "oof.npz", tmp_path / "x.png", threshold="oof"
        )
    save_probs(tmp_path / "bad.npz", ["nope"], masks[:1] * 1.0)
    with pytest.raises(SaltsegError, match="bad.npz: id 'nope' is not in the prepared data"):
        plot_predictions(tmp_path / "data", tmp_path / "bad.npz", tmp_path / "q.png")
    assert not (tmp_path / "q.png").exists()
