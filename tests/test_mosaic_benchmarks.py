"""benchmarks/mosaic_real.py and mosaic_seams.py end to end on a small real-like synthetic set."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import pytest

from saltseg.synth.generate import generate

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real_like(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mosaic_bench") / "set"
    generate(
        folder, seed=4, sections=3, rows=3, cols=6, keep_fraction=0.7, tile_noise=3.0,
        tile_stretch=True, contact_sheet=False,
    )  # fmt: skip
    return folder


def test_the_variants_table_has_the_cut_test_and_the_truth(real_like, capsys):
    load("mosaic_real").main([str(real_like), "--variant", "{}"])
    header, rule, row = capsys.readouterr().out.strip().splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert "cut seams linked: h / v" in columns and columns[-1] == "wrong pairs (truth)"
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "defaults" and len(cells) == len(columns)
    h, v = (float(x) for x in cells[columns.index("cut seams linked: h / v")].split(" / "))
    assert 0.5 < h <= 1 and 0.5 < v <= 1  # the synthetic seams continue through the cuts


def test_the_seam_picture_draws_true_seams_beside_the_placed_ones(real_like, tmp_path, capsys):
    out = tmp_path / "seams.png"
    load("mosaic_seams").main([str(real_like), str(out)])
    printed = capsys.readouterr().out
    assert "true seams (cuts)" in printed and "placed seams" in printed
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[0] > 300


def test_the_coverage_tables_put_placement_beside_the_cut_test(real_like, tmp_path, capsys):
    out = tmp_path / "kinds.png"
    load("mosaic_coverage").main([str(real_like), "--cuts", "20", "--picture", str(out)])
    printed = capsys.readouterr().out
    assert "all tiles by kind" in printed and "labelled tiles by kind and salt" in printed
    first = printed.split("labelled tiles")[0]
    rows = [line.strip("|").split("|") for line in first.splitlines() if line.startswith("| ")]
    counts = {cells[0].strip(): int(cells[1].replace(",", "")) for cells in rows[1:]}
    assert sum(counts.values()) == len(list(real_like.glob("*/images/*.png")))
    assert counts.get("rough", 0) > 0  # the synthetic texture is fine-grained
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape[1] > 800
