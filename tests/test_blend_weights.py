"""benchmarks/blend_weights.py: the two stages' OOF maps blended at each weight and scored."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from saltseg.data.tileset import TileSet, save_tileset
from saltseg.io.probs import save_probs

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "blend_weights.py"
spec = importlib.util.spec_from_file_location("blend_weights", SCRIPT)
blend_weights = importlib.util.module_from_spec(spec)
spec.loader.exec_module(blend_weights)


def make_run(run: Path) -> None:
    """Six train tiles, half with salt; stage 1 right on the first three, stage 2 on the last
    three (its file in another tile order), so that only a blend gets all six right."""
    truth = np.zeros((6, 101, 101), bool)
    truth[1::2, 20:80, 20:80] = True
    ids = np.array([f"t{i}" for i in range(6)])
    table = pd.DataFrame(
        {
            "id": ids,
            "split": "train",
            "z": np.arange(6, dtype=float),
            "coverage": truth.mean(axis=(1, 2)),
            "blank": False,
        }
    )
    images = np.random.default_rng(0).integers(0, 256, (6, 101, 101), dtype=np.uint8)
    (run / "results" / "data").mkdir(parents=True)
    save_tileset(TileSet(table, images, truth), run / "results" / "data")
    right = np.where(truth, 0.7, 0.3).astype(np.float32)
    wrong = np.where(truth, 0.4, 0.6).astype(np.float32)
    first = np.r_[right[:3], wrong[3:]]
    second = np.r_[wrong[:3], right[3:]]
    for stage, probs, order in (
        ("stage1", first, slice(None)),
        ("stage2", second, slice(None, None, -1)),
    ):
        (run / "results" / stage / "blend").mkdir(parents=True)
        save_probs(run / "results" / stage / "blend" / "oof.npz", ids[order], probs[order])


def test_each_weight_scores_its_blend(tmp_path: Path) -> None:
    make_run(tmp_path / "run")
    rows = blend_weights.weight_rows(tmp_path / "run", ["stage1", "stage2"], [1.0, 0.0, 0.5])
    by_weight = {r["weight"]: r for r in rows}
    # Either stage alone gets three tiles right at 0.5; half and half (0.55 on salt, 0.45 off
    # it, or the reverse) gets all six.
    assert by_weight[1.0]["oof_score"] == pytest.approx(0.5)
    assert by_weight[0.0]["oof_score"] == pytest.approx(0.5)
    assert by_weight[0.5]["oof_score"] == pytest.approx(1.0)


def test_a_run_without_the_stage_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    make_run(tmp_path / "run")
    assert blend_weights.main([str(tmp_path / "run"), "--stages", "stage1", "stage3"]) == 1
    err = capsys.readouterr().err
    assert "stage3/blend/oof.npz: no such file" in err and err.count("\n") == 1


def test_the_table_has_a_row_per_run_and_weight(tmp_path: Path, capsys) -> None:
    make_run(tmp_path / "a")
    make_run(tmp_path / "b")
    args = [str(tmp_path / "a"), str(tmp_path / "b"), "--weights", "0.5", "1"]
    assert blend_weights.main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "stage1 " in line]
    assert len(rows) == 4
