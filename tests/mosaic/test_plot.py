import cv2
import numpy as np
import pandas as pd
import pytest

from saltseg.io.figures import save_figure
from saltseg.mosaic.plot import TEST_COLOUR, TRAIN_COLOUR, mosaic_canvas, mosaics_figure

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


def test_mosaics_figure_saves_as_png(tmp_path):
    ids, images, layout, train, test = small_mosaics()
    out = tmp_path / "m.png"
    fig, shown = mosaics_figure(layout, ids, images, train, test, n=4)
    assert shown == [0, 1]
    save_figure(fig, out)
    png = cv2.imread(str(out))
    assert png is not None and png.shape[0] > 100
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]  # no temp files left


def test_mosaics_with_salt_come_first():
    ids, images, layout, train, test = small_mosaics()
    # Mosaic 1 (d, e) is the smaller; give it salt in a test mask and leave mosaic 0 without.
    salt = train.pop("a")
    _, shown = mosaics_figure(layout, ids, images, train, {"e": salt}, n=1)
    assert shown == [1]
    _, shown = mosaics_figure(layout, ids, images, train, {"e": salt}, n=1, salt_first=False)
    assert shown == [0]  # the largest
    _, shown = mosaics_figure(layout, ids, images, {"a": salt}, {}, n=2)
    assert shown == [0, 1]


def test_mosaics_figure_needs_a_mosaic():
    ids, images, layout, train, test = small_mosaics()
    with pytest.raises(ValueError, match="no mosaics"):
        mosaics_figure(layout.iloc[:0], ids, images, train, test)
