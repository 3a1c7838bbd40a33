"""Precision proxies without a truth layout, on hand-made layouts and a cut-up section."""

import cv2
import numpy as np
import pandas as pd
import pytest

from saltseg.mosaic.assemble import assemble
from saltseg.mosaic.proxies import (
    cut_links,
    cut_rows,
    cut_test,
    flip_test,
    loop_closure,
    mask_continuity,
    seam_agreement,
    stability,
)

T = 101


def layout(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "mosaic", "row", "col"])


def salt_section(rows: int, cols: int) -> np.ndarray:
    """A section mask with a dipping salt boundary that crosses many seams."""
    y, x = np.mgrid[: rows * T, : cols * T]
    return y > 0.6 * x + 40


def cut(section: np.ndarray) -> dict[str, np.ndarray]:
    rows, cols = section.shape[0] // T, section.shape[1] // T
    return {
        f"r{r}c{c}": section[r * T : (r + 1) * T, c * T : (c + 1) * T]
        for r in range(rows)
        for c in range(cols)
    }


def true_layout(rows: int, cols: int) -> pd.DataFrame:
    return layout([(f"r{r}c{c}", 0, r, c) for r in range(rows) for c in range(cols)])


def test_seam_agreement_of_continuous_and_jumping_boundaries():
    a = np.zeros((2, T, T), bool)
    b = np.zeros((2, T, T), bool)
    a[:, 50:, :] = True
    b[0, 50:, :] = True  # continues the boundary across a vertical seam
    b[1, 10:, :] = True  # jumps by 40 rows
    agree, informative = seam_agreement(a, b, "h")
    assert agree[0] == 1.0 and agree[1] < 0.65
    assert informative.all()
    # both sides all empty (or all salt) say nothing about the link
    _, informative = seam_agreement(np.zeros((1, T, T), bool), np.zeros((1, T, T), bool), "v")
    assert not informative.any()


def test_correct_links_are_continuous_and_shifted_ones_are_not():
    masks = cut(salt_section(3, 4))
    right = mask_continuity(true_layout(3, 4), masks)
    assert right["informative_seams"] >= 5
    # neighbouring pixel lines, not the same one: a dipping boundary moves a pixel or so
    assert right["linked_continuous"] == 1.0 and right["linked_agree"] > 0.98
    # every column shifted down by one cell: the vertical seams now join unrelated tiles
    shifted = true_layout(3, 4).assign(row=lambda d: (d["row"] + d["col"]) % 3)
    wrong = mask_continuity(shifted, masks)
    assert wrong["linked_continuous"] < 0.5
    assert right["random_agree"] < right["linked_agree"]


def textured_section(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Smooth random grey values: every seam continues, every tile side carries texture."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(rows * 8, cols * 8))
    big = cv2.resize(coarse, (cols * T, rows * T), interpolation=cv2.INTER_CUBIC)
    return np.clip(128 + 40 * big, 0, 255).astype(np.uint8)


def test_loop_closure_and_stability_on_a_cut_section():
    tiles = cut(textured_section(3, 4))
    ids = list(tiles)
    images = np.stack([tiles[i] for i in ids])
    good = loop_closure(true_layout(3, 4), ids, images)
    assert good["blocks_2x2"] == 6 and good["blocks_closed"] == 1.0
    assert good["tiles_multiply_held"] == 1.0
    swapped = true_layout(3, 4)
    swapped.loc[[0, 5], "id"] = swapped.loc[[5, 0], "id"].to_numpy()  # two tiles trade cells
    bad = loop_closure(swapped, ids, images)
    assert bad["blocks_closed"] < good["blocks_closed"]

    result = stability(true_layout(3, 4), ids, images, drop=0.1, seed=1)
    assert result["pairs_before"] > 0 and 0.0 <= result["pairs_survived"] <= 1.0


def test_flip_test_finds_no_false_seams_in_true_sections_and_breaks_mixed_ones():
    # two unrelated sections; the flip test turns a random half of all tiles upside down
    tiles = {**cut(textured_section(3, 4, seed=1))}
    other = cut(textured_section(3, 4, seed=2))
    tiles |= {f"x{k}": v for k, v in other.items()}
    ids = list(tiles)
    images = np.stack([tiles[i] for i in ids])
    layout = assemble(images, ids)
    assert len(layout) == 24 and layout.attrs["ratio_thresholds"].keys() == {"h", "v"}
    result = flip_test(layout, ids, images, seed=0)
    # links between two turned (or two unturned) tiles survive; no seam mixes the halves,
    # which it would if turning did not break the true links between them
    assert result["null_pairs"] > 0
    assert result["null_mixed_pairs"] == 0 and result["false_share_estimate"] == 0.0


def test_the_cut_test_finds_cuts_through_continuous_texture_and_not_through_a_jump():
    tiles = np.stack([textured_section(1, 1, seed=s) for s in range(40)])
    at = {"h": 0.25, "v": 0.25}
    result = cut_test(tiles, at, cuts=30, seed=0)
    assert result["cuts"] == 30 and result["h_cuts"] == 30 and result["v_cuts"] == 30
    assert result["h_recall"] == 1.0 and result["v_recall"] == 1.0
    assert result["h_chance"] <= 0.15 and result["v_chance"] <= 0.15
    # The same tiles with a jump in the middle (each half from another field): the seams
    # the cut test makes are false, so it must not find them.
    across = tiles.copy()
    across[:, :, 50:] = np.roll(tiles, 1, axis=0)[:, :, 50:]
    assert cut_test(across, at, cuts=30, seed=0)["h_recall"] <= 0.1
    down = tiles.copy()
    down[:, 50:, :] = np.roll(tiles, 1, axis=0)[:, 50:, :]
    assert cut_test(down, at, cuts=30, seed=0)["v_recall"] <= 0.1
    # The assembly's thresholds decide: at 0.99 (the runner-up 100 times as far) none passes.
    strict = cut_test(tiles, {"h": 0.99, "v": 0.99}, cuts=30, seed=0)
    assert strict["h_recall"] == 0.0 and strict["v_recall"] == 0.0


def test_cut_links_tell_tile_by_tile_what_the_cut_test_sums():
    tiles = np.stack([textured_section(1, 1, seed=s) for s in range(40)])
    tiles[5:10, :, 50:] = np.roll(tiles[5:10], 1, axis=0)[:, :, 50:]  # a jump where "h" cuts
    tiles[3] = 128  # flat: no evidence either way
    at = {"h": 0.25, "v": 0.25}
    rows = cut_rows(len(tiles), cuts=30, seed=0)
    links = cut_links(tiles, rows, at)
    assert links["row"].tolist() == rows.tolist()
    by_row = links.set_index("row")
    assert set(by_row.index[~by_row["h_usable"]]) == {3} & set(rows)
    jumped = [r for r in rows if 5 <= r < 10]
    assert jumped and not by_row.loc[jumped, "h_linked"].any()
    assert by_row.loc[jumped, "v_linked"].all()  # the "v" cut runs across the jump, not along it
    others = [r for r in rows if r != 3 and not 5 <= r < 10]
    assert by_row.loc[others, "h_linked"].all()
    # The figures cut_test gave before it was built on cut_links (commit 0af32b7).
    summary = cut_test(tiles, at, cuts=30, seed=0)
    assert (summary["h_cuts"], summary["v_cuts"]) == (29, 29)
    assert summary["h_recall"] == 25 / 29 and summary["v_recall"] == 1.0
    assert summary["h_chance"] == 2 / 29 and summary["v_chance"] == 1 / 29
    with pytest.raises(ValueError, match="distinct"):
        cut_links(tiles, np.array([1, 1]), at)
    with pytest.raises(ValueError, match="distinct"):
        cut_links(tiles, np.array([-1]), at)


def test_a_cut_whose_second_half_has_a_twin_is_chance_linked_but_not_found():
    tiles = np.stack([textured_section(1, 1, seed=s) for s in range(20)])
    # Tile 1 starts where tile 0's cut does: its left side is the cut's second side again.
    tiles[1, :, :51] = tiles[0, :, 50:]
    links = cut_links(tiles, np.array([0, 2]), {"h": 0.25, "v": 0.25}).set_index("row")
    assert not links.loc[0, "h_linked"] and links.loc[0, "h_chance"]  # two equal candidates
    assert links.loc[2, "h_linked"] and not links.loc[2, "h_chance"]
