import cv2
import numpy as np
import pandas as pd
import pytest

from saltseg.mosaic import run_mosaic
from saltseg.mosaic_plot import TEST_COLOUR, TRAIN_COLOUR, mosaic_canvas, plot_mosaics

T = 101


def small_mosaics():
    ids = ["a", "b", "c", "d", "e"]
    images = np.full((5, T, T), 100, np.uint8)
    layout = pd.DataFrame(
        [("a", 0, 0, 0), ("b", 0, 0, 1), ("c", 0, 1, 1), ("d", 1, 0, 0), ("e", 1, 1, 0)],
        columns=["id", "mosaic", "row", "col"],
    )
    salt = np.zeros((T, T), bool)
    salt[50:, :] = True
    return ids, images, layout, {"a": salt}, {"b": salt}


def test_canvas_shows_train_and_test_masks_in_their_colours():
    ids, images, layout, train, test = small_mosaics()
    by_id = dict(zip(ids, images, strict=True))
    canvas = mosaic_canvas(layout[layout["mosaic"] == 0], by_id, train, test)
    assert canvas.shape == (2 * T, 2 * T, 3)
    train_px = canvas[80, 40].astype(int)  # inside a's salt
    test_px = canvas[80, T + 40].astype(int)  # inside b's salt
    assert np.argmax(train_px) == np.argmax(TRAIN_COLOUR)
    assert np.argmax(test_px) == np.argmax(TEST_COLOUR)
    assert (canvas[T + 40, 40] < 50).all()  # empty grid cell stays dark


def test_plot_mosaics_writes_png(tmp_path):
    ids, images, layout, train, test = small_mosaics()
    out = tmp_path / "m.png"
    shown = plot_mosaics(layout, ids, images, train, test, out, n=4)
    assert shown == [0, 1]
    png = cv2.imread(str(out))
    assert png is not None and png.shape[0] > 100
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]  # no temp files left


def test_plot_mosaics_needs_a_mosaic(tmp_path):
    ids, images, layout, train, test = small_mosaics()
    with pytest.raises(ValueError, match="no mosaics"):
        plot_mosaics(layout.iloc[:0], ids, images, train, test, tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_run_mosaic_writes_layout_and_picture(tmp_path):
    from saltseg.synth import generate

    generate(tmp_path / "synth", seed=2, sections=2, rows=3, cols=5, contact_sheet=False)
    summary = run_mosaic(
        tmp_path / "synth", tmp_path / "out" / "mosaic.parquet", tmp_path / "m.png"
    )
    layout = pd.read_parquet(tmp_path / "out" / "mosaic.parquet")
    assert list(layout.columns) == ["id", "mosaic", "row", "col"]
    assert summary["tiles_placed"] == len(layout) > 0
    assert summary["train_placed"] + summary["test_placed"] == len(layout)
    assert cv2.imread(str(tmp_path / "m.png")) is not None
