import shutil

import cv2
import numpy as np
import pytest

from saltseg.data import kaggle, tileset
from saltseg.errors import SaltsegError
from tests.conftest import make_kaggle_dir, write_image, write_mask


def test_reads_quirky_kaggle_layout(kaggle_dir):
    root, truth = kaggle_dir
    ts = kaggle.read_kaggle(root)
    assert ts.images.dtype == np.uint8 and ts.images.shape == (9, 101, 101)
    assert ts.masks.dtype == bool
    t = ts.table
    assert list(t.columns) == tileset.TABLE_COLUMNS
    assert (t["split"] == "train").sum() == 6 and (t["split"] == "test").sum() == 3
    for i, row in t.iterrows():
        if row.split == "train":
            image, mask = truth["train"][row.id]
            assert np.array_equal(ts.images[i], image)
            assert np.array_equal(ts.masks[i], mask)
            assert row.coverage == pytest.approx(mask.mean())
        else:
            assert np.array_equal(ts.images[i], truth["test"][row.id])
            assert not ts.masks[i].any() and np.isnan(row.coverage)
        assert row.z == truth["z"][row.id]
    assert t.set_index("id").loc["te0000", "blank"]
    assert t["blank"].sum() == 1


def test_depths_for_train_only_and_no_test_folder(tmp_path):
    root = tmp_path / "d"
    make_kaggle_dir(root, depths="train")
    ts = kaggle.read_kaggle(root)
    test_z = ts.table.loc[ts.table.split == "test", "z"]
    assert test_z.isna().all()
    shutil.rmtree(root / "test")
    ts = kaggle.read_kaggle(root)
    assert (ts.table.split == "train").all()


def test_gray_8bit_images_and_no_train_csv(tmp_path):
    root = tmp_path / "g"
    make_kaggle_dir(root, gray_images=True)
    (root / "train.csv").unlink()
    ts = kaggle.read_kaggle(root)
    assert len(ts.table) == 9


def expect_error(root, match):
    with pytest.raises(SaltsegError, match=match) as info:
        kaggle.read_kaggle(root)
    assert "\n" not in str(info.value)


def test_unreadable_png(kaggle_dir):
    root, _ = kaggle_dir
    (root / "train" / "images" / "tr0001.png").write_bytes(b"not a png")
    expect_error(root, r"tr0001\.png: not a PNG file")


def test_wrong_size(kaggle_dir):
    root, _ = kaggle_dir
    write_image(root / "test" / "images" / "te0001.png", np.zeros((100, 101), np.uint8))
    expect_error(root, r"te0001\.png: expected 101x101 pixels, got 100x101")


def test_image_without_mask(kaggle_dir):
    root, _ = kaggle_dir
    (root / "train" / "masks" / "tr0002.png").unlink()
    expect_error(root, r"tr0002\.png: image has no mask")


def test_mask_without_image(kaggle_dir):
    root, _ = kaggle_dir
    (root / "train" / "images" / "tr0002.png").unlink()
    expect_error(root, r"tr0002\.png: mask has no image")


def test_duplicate_id_between_train_and_test(kaggle_dir):
    root, _ = kaggle_dir
    shutil.copy(root / "test" / "images" / "te0001.png", root / "train" / "images" / "te0001.png")
    shutil.copy(root / "train" / "masks" / "tr0000.png", root / "train" / "masks" / "te0001.png")
    expect_error(root, "duplicate id 'te0001'")


def test_duplicate_id_in_csv(kaggle_dir):
    root, _ = kaggle_dir
    with open(root / "depths.csv", "a") as fh:
        fh.write("tr0000,5\n")
    expect_error(root, r"depths\.csv: duplicate id 'tr0000'")


def test_bad_mask_values(kaggle_dir):
    root, _ = kaggle_dir
    mask = np.zeros((101, 101), np.uint16)
    mask[:10] = 300
    assert cv2.imwrite(str(root / "train" / "masks" / "tr0003.png"), mask)
    expect_error(root, r"tr0003\.png: mask values must be 0 or 65535")


def test_rle_disagrees_with_mask(kaggle_dir):
    root, _ = kaggle_dir
    mask = np.zeros((101, 101), bool)
    mask[:5, :5] = True
    write_mask(root / "train" / "masks" / "tr0001.png", mask)
    expect_error(root, r"train\.csv: RLE for id 'tr0001' disagrees with train/masks/tr0001\.png")


def test_non_numeric_depth(kaggle_dir):
    root, _ = kaggle_dir
    text = (root / "depths.csv").read_text().replace("tr0002,114", "tr0002,deep")
    (root / "depths.csv").write_text(text)
    expect_error(root, r"depths\.csv: non-numeric depth 'deep' for id 'tr0002'")


def test_missing_layout(tmp_path):
    expect_error(tmp_path, "folder not found; expected the Kaggle layout")


def test_colour_image_rejected(kaggle_dir):
    root, _ = kaggle_dir
    rgb = np.zeros((101, 101, 3), np.uint8)
    rgb[:, :, 1] = 9
    assert cv2.imwrite(str(root / "train" / "images" / "tr0000.png"), rgb)
    expect_error(root, "colour channels differ")


def test_many_tiles_read_in_order_naming_the_first_bad_file(tmp_path):
    # Enough files for several runs of the thread pool: every tile lands at its own row, and
    # of two bad files in different runs the earlier one is named.
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (70, 101, 101), dtype=np.uint8)
    paths = []
    for i, tile in enumerate(tiles):
        paths.append(tmp_path / f"t{i:03d}.png")
        write_image(paths[-1], tile)
    np.testing.assert_array_equal(kaggle.read_png_tiles(paths), tiles)
    paths[65].write_bytes(b"not a png")
    paths[41].write_bytes(b"")
    with pytest.raises(SaltsegError, match=r"t041\.png: empty file"):
        kaggle.read_png_tiles(paths)
