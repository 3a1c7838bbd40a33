import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from saltseg import rle
from saltseg.data.kaggle import read_kaggle
from saltseg.errors import SaltsegError
from saltseg.synth.generate import generate

TINY = {"sections": 2, "rows": 3, "cols": 4, "train_fraction": 0.5}
T = 101


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth") / "tiny"
    return out, generate(out, seed=3, **TINY)


@pytest.fixture(scope="module")
def mid(tmp_path_factory) -> tuple[Path, dict]:
    """The default size (8 sections of 6 x 21 tiles), without previews."""
    out = tmp_path_factory.mktemp("synth") / "mid"
    return out, generate(out, seed=0, contact_sheet=False)


def read(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert data is not None, path
    return data


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def train_masks(root: Path) -> dict[str, np.ndarray]:
    return {p.stem: read(p) for p in (root / "train" / "masks").glob("*.png")}


def all_tiles(root: Path) -> dict[str, np.ndarray]:
    paths = list((root / "train" / "images").glob("*.png"))
    paths += list((root / "test" / "images").glob("*.png"))
    return {p.stem: read(p)[:, :, 0] for p in paths}


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tiny, tmp_path):
    out, _ = tiny
    again = tmp_path / "again"
    generate(again, seed=3, **TINY)
    assert files(again) == files(out)
    other = tmp_path / "other"
    generate(other, seed=4, **TINY)
    first, second = files(out), files(other)
    assert first["train.csv"] != second["train.csv"]
    shared = {t.tobytes() for t in all_tiles(out).values()} & {
        t.tobytes() for t in all_tiles(other).values()
    }
    assert shared <= {bytes(T * T)}  # only blank tiles may coincide


def test_kaggle_layout_and_file_quirks(tiny):
    out, summary = tiny
    n = TINY["sections"] * TINY["rows"] * TINY["cols"]
    train = sorted(p.stem for p in (out / "train" / "images").glob("*.png"))
    test = sorted(p.stem for p in (out / "test" / "images").glob("*.png"))
    assert len(train) + len(test) == n == summary["tiles"]
    assert len(train) == summary["train"] == round(TINY["train_fraction"] * n)
    assert not set(train) & set(test)
    assert all(re.fullmatch(r"[0-9a-f]{10}", i) for i in train + test)
    assert sorted(p.stem for p in (out / "train" / "masks").glob("*.png")) == train
    for path in [*(out / "train" / "images").glob("*.png"), *(out / "test" / "images").glob("*")]:
        image = read(path)
        assert image.dtype == np.uint8 and image.shape == (T, T, 3)
        assert (image == image[:, :, :1]).all()  # three equal channels
    kinds = set()
    for mask in train_masks(out).values():
        assert mask.shape == (T, T)
        if mask.any():
            assert mask.dtype == np.uint16 and set(np.unique(mask)) <= {0, 65535}
        else:
            assert mask.dtype == np.uint8
        kinds.add(mask.dtype)
    assert kinds == {np.dtype(np.uint8), np.dtype(np.uint16)}
    depths = pd.read_csv(out / "depths.csv")
    assert list(depths.columns) == ["id", "z"] and sorted(depths.id) == sorted(train + test)
    assert depths.z.between(0, 1000).all()
    assert (out / "contact_sheet.png").is_file() and (out / "sections.png").is_file()


def test_depths_for_train_ids_only(tmp_path):
    out = tmp_path / "d"
    generate(out, seed=1, depths="train", contact_sheet=False, **TINY)
    train = {p.stem for p in (out / "train" / "images").glob("*.png")}
    assert set(pd.read_csv(out / "depths.csv").id) == train
    assert not (out / "contact_sheet.png").exists()


def test_rle_tables_agree_with_masks(tiny):
    out, _ = tiny
    table = pd.read_csv(out / "train.csv", keep_default_na=False)
    assert list(table.columns) == ["id", "rle_mask"]
    masks = train_masks(out)
    assert sorted(table.id) == sorted(masks)
    for tid, code in zip(table.id, table.rle_mask, strict=True):
        assert np.array_equal(rle.decode(code), masks[tid] > 0)
    truth = pd.read_csv(out / "truth" / "test.csv", keep_default_na=False)
    assert sorted(truth.id) == sorted(p.stem for p in (out / "test" / "images").glob("*.png"))
    for code in truth.rle_mask:
        rle.decode(code)  # valid


def test_layout_reassembles_continuous_sections(tiny):
    out, _ = tiny
    layout = pd.read_csv(out / "truth" / "layout.csv", dtype={"id": str})
    tiles = all_tiles(out)
    assert sorted(layout.id) == sorted(tiles)
    assert not layout.duplicated(["section", "row", "col"]).any()
    live = {i for i, t in tiles.items() if t.min() != t.max()}  # blank tiles do not match anything
    grid = {(r.section, r.row, r.col): r.id for r in layout.itertuples()}

    def step(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(float) - b.astype(float)).mean())

    border, inside, random = [], [], []
    ids = sorted(live)
    rng = np.random.default_rng(0)
    for (s, r, c), left in grid.items():
        right = grid.get((s, r, c + 1))
        if left in live and right in live:
            border.append(step(tiles[left][:, -1], tiles[right][:, 0]))
            inside.append(step(tiles[left][:, 49], tiles[left][:, 50]))
            other = ids[rng.integers(len(ids))]
            if other != right:
                random.append(step(tiles[left][:, -1], tiles[other][:, 0]))
        below = grid.get((s, r + 1, c))
        if left in live and below in live:
            border.append(step(tiles[left][-1], tiles[below][0]))
            inside.append(step(tiles[left][49], tiles[left][50]))
    assert len(border) > 10
    assert np.mean(border) < 1.5 * np.mean(inside)
    assert np.mean(random) > 2.5 * np.mean(border)


def test_mid_size_set_is_tgs_like(mid):
    out, summary = mid
    masks = train_masks(out)
    empty = np.mean([not m.any() for m in masks.values()])
    assert 0.35 <= empty <= 0.45
    assert summary["train_empty_fraction"] == pytest.approx(empty, abs=1e-3)
    labels = [m > 0 for m in masks.values()]
    vertical = sum(bool(m.any() and not m[-1].all() and (m == m[-1]).all()) for m in labels)
    assert vertical >= 3 and vertical == summary["vertical_train"]
    assert not any(m.all() for m in labels)  # like TGS: all-salt tiles are labelled empty
    tiles = all_tiles(out)
    blank = {i for i, t in tiles.items() if t.min() == t.max()}
    assert 0 < len(blank) <= 0.05 * len(tiles) and len(blank) == summary["blank"]
    assert all(not masks[i].any() for i in blank if i in masks)
    z = pd.read_csv(out / "depths.csv").z
    assert z.between(1, 1000).all() and z.max() - z.min() > 300


def test_read_kaggle_accepts_the_output(tiny):
    out, summary = tiny
    ts = read_kaggle(out)
    assert len(ts.table) == summary["tiles"]
    assert (ts.table.split == "train").sum() == summary["train"]
    assert int(ts.table.blank.sum()) == summary["blank"]
    assert not ts.table.z.isna().any()


def test_refuses_non_empty_output_and_bad_arguments(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(SaltsegError, match="not an empty directory"):
        generate(out, **TINY)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    with pytest.raises(SaltsegError, match="depths"):
        generate(tmp_path / "a", depths="some", **TINY)
    with pytest.raises(SaltsegError, match="train_fraction"):
        generate(tmp_path / "b", **{**TINY, "train_fraction": 0.0})
    with pytest.raises(SaltsegError, match="rows"):
        generate(tmp_path / "c", **{**TINY, "rows": 0})
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    generate(empty_dir, contact_sheet=False, **TINY)  # an existing empty folder is fine
    assert (empty_dir / "train.csv").is_file()


def test_synth_section_is_the_section_generate_cuts(tmp_path):
    from saltseg.synth.generate import synth_section

    generate(tmp_path / "d", seed=3, sections=1, rows=2, cols=3, train_fraction=0.5)
    ts = read_kaggle(tmp_path / "d")
    section = synth_section(3, 2, 3)
    assert section.image.shape == section.salt.shape == (202, 303)
    cut = section.image.reshape(2, 101, 3, 101).swapaxes(1, 2).reshape(6, 101, 101)
    known = {tile.tobytes() for tile in cut}
    not_blank = ts.table["blank"].to_numpy() == 0
    assert not_blank.any()
    assert all(img.tobytes() in known for img in ts.images[not_blank])
    depths = ts.table["z"].dropna().to_numpy()
    assert depths.min() >= section.z_top and depths.max() <= section.z_top + 202 * section.z_step


def test_keep_fraction_leaves_tiles_out_everywhere_and_noise_spares_blank_tiles(tmp_path):
    out = tmp_path / "sparse"
    summary = generate(out, seed=3, **{**TINY, "sections": 4}, keep_fraction=0.5, tile_noise=3.0)
    dense = tmp_path / "dense"
    generate(dense, seed=3, **{**TINY, "sections": 4})
    tiles, dense_tiles = all_tiles(out), all_tiles(dense)
    layout = pd.read_csv(out / "truth" / "layout.csv", dtype={"id": str})
    # A subset of the same tiles (same ids, same places), listed consistently in every table.
    assert 0.3 < len(tiles) / len(dense_tiles) < 0.7 and summary["tiles"] == len(tiles)
    assert set(tiles) < set(dense_tiles) and set(layout.id) == set(tiles)
    dense_layout = pd.read_csv(dense / "truth" / "layout.csv", dtype={"id": str}).set_index("id")
    assert (dense_layout.loc[layout.id].to_numpy() == layout.set_index("id").to_numpy()).all()
    train = pd.read_csv(out / "train.csv", dtype={"id": str})
    test = pd.read_csv(out / "truth" / "test.csv", dtype={"id": str})
    depths = pd.read_csv(out / "depths.csv", dtype={"id": str})
    assert set(train.id) | set(test.id) == set(depths.id) == set(tiles)
    assert set(train.id) == set(train_masks(out))
    # The noise: about 3 grey levels per pixel on tiles with content, none on blank tiles.
    diffs = [tiles[i].astype(float) - dense_tiles[i] for i in tiles if dense_tiles[i].any()]
    assert 2.5 < np.std(np.concatenate([d.ravel() for d in diffs])) < 3.5
    assert all(not tiles[i].any() for i in tiles if not dense_tiles[i].any())
    with pytest.raises(SaltsegError, match="leaves none of the 12 tiles"):
        generate(tmp_path / "none", seed=3, sections=1, rows=3, cols=4, keep_fraction=1e-9)
    assert not (tmp_path / "none").exists()


def test_tile_stretch_spans_every_tile_from_0_to_255_like_the_kaggle_tiles(tmp_path):
    plain, stretched = tmp_path / "plain", tmp_path / "stretched"
    generate(plain, seed=5, **TINY)
    generate(stretched, seed=5, **TINY, tile_stretch=True)
    before, after = all_tiles(plain), all_tiles(stretched)
    assert before.keys() == after.keys()
    content = [i for i in before if before[i].any()]
    assert content
    for i in before:
        if not before[i].any():  # blank tiles stay blank
            assert not after[i].any()
            continue
        a, b = before[i].astype(float).ravel(), after[i].astype(float).ravel()
        assert after[i].min() == 0 and after[i].max() == 255
        # the same picture, only mapped linearly to the full grey range
        assert np.corrcoef(a, b)[0, 1] > 0.999
    # a seam between two tiles of one section now shows a brightness step
    layout = pd.read_csv(stretched / "truth" / "layout.csv", dtype={"id": str}).set_index("id")
    cell = {(s, r, c): i for i, (s, r, c) in layout[["section", "row", "col"]].iterrows()}
    steps = {"plain": [], "stretched": []}
    for (s, r, c), i in cell.items():
        j = cell.get((s, r, c + 1))
        if j is None or i not in content or j not in content:
            continue
        for name, tiles in (("plain", before), ("stretched", after)):
            left, right = tiles[i][:, -1].astype(float), tiles[j][:, 0].astype(float)
            steps[name].append(abs(left.mean() - right.mean()))
    assert steps["plain"] and np.mean(steps["stretched"]) > 2 * np.mean(steps["plain"])
