import numpy as np
import pandas as pd
import pytest

from saltseg.mosaic.rules import apply_mosaic_rules, classify_masks, oof_rule_effects

H = 101


def vertical_mask(col: int) -> np.ndarray:
    """Salt left of ``col`` in every row."""
    m = np.zeros((H, H), bool)
    m[:, :col] = True
    return m


def half_vertical_mask(col: int) -> np.ndarray:
    """Bottom 60 rows salt left of ``col``; a different boundary above."""
    m = vertical_mask(col)
    m[:40, :] = False
    m[:40, : col // 2] = True
    return m


def full_bottom_mask() -> np.ndarray:
    m = np.zeros((H, H), bool)
    m[70:, :] = True
    return m


def other_mask() -> np.ndarray:
    m = np.zeros((H, H), bool)
    m[30:60, 30:60] = True
    return m


def layout(cells: dict[str, tuple[int, int]], mosaic: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        [(t, mosaic, r, c) for t, (r, c) in cells.items()], columns=["id", "mosaic", "row", "col"]
    )


def test_classify_masks():
    all_salt = np.ones((H, H), bool)
    masks = np.stack(
        [
            np.zeros((H, H), bool),
            vertical_mask(30),
            half_vertical_mask(30),
            full_bottom_mask(),
            all_salt,
            other_mask(),
        ]
    )
    assert classify_masks(masks).tolist() == [
        "empty",
        "vertical",
        "half_vertical",
        "full_bottom",
        "full_bottom",
        "other",
    ]


def test_half_vertical_needs_bottom_50_rows():
    m = vertical_mask(30)
    m[:52, :] = False  # only the bottom 49 rows equal the last row
    assert classify_masks(m[None]).tolist() == ["other"]
    m = vertical_mask(30)
    m[:51, :] = False  # exactly the bottom 50 rows do
    assert classify_masks(m[None]).tolist() == ["half_vertical"]


def test_vertical_fills_down_a_3x1_column_and_stops_at_next_train_tile():
    # Column: train vertical (row 0), test (row 1), test (row 2), train other (row 3), test (row 4)
    lay = layout({"tr0": (0, 0), "te1": (1, 0), "te2": (2, 0), "tr3": (3, 0), "te4": (4, 0)})
    train_masks = np.stack([vertical_mask(40), other_mask()])
    test_masks = np.zeros((3, H, H), bool)
    test_masks[1] = other_mask()
    before = test_masks.copy()
    out, counts = apply_mosaic_rules(
        lay, ["tr0", "tr3"], train_masks, ["te1", "te2", "te4"], test_masks
    )
    np.testing.assert_array_equal(out[0], vertical_mask(40))
    np.testing.assert_array_equal(out[1], vertical_mask(40))
    assert not out[2].any()  # below a non-vertical train tile: untouched
    assert counts == {"vertical_down": 2, "vertical_up": 0, "empty_below_full_salt": 0}
    np.testing.assert_array_equal(test_masks, before)  # input not modified


def test_half_vertical_repeats_its_last_row():
    lay = layout({"te_above": (0, 0), "tr": (1, 0), "te": (2, 0)})
    hv = half_vertical_mask(30)
    out, counts = apply_mosaic_rules(
        lay, ["tr"], hv[None], ["te", "te_above"], np.zeros((2, H, H), bool)
    )
    np.testing.assert_array_equal(out[0], np.repeat(hv[-1:], H, axis=0))
    assert not out[1].any()  # half-vertical tiles never fill upwards
    assert counts["vertical_down"] == 1 and counts["vertical_up"] == 0


def test_vertical_fills_up_only_from_grid_row_3_in_2x2_mosaics():
    # Two 2x2 mosaics: train vertical at bottom-left, test above it and to its right.
    deep = layout({"te_a": (2, 0), "te_b": (2, 1), "tr_a": (3, 0), "te_c": (3, 1)}, mosaic=0)
    shallow = layout({"te_d": (1, 0), "te_e": (1, 1), "tr_b": (2, 0), "te_f": (2, 1)}, mosaic=1)
    lay = pd.concat([deep, shallow], ignore_index=True)
    v = vertical_mask(25)
    test_ids = ["te_a", "te_b", "te_c", "te_d", "te_e", "te_f"]
    out, counts = apply_mosaic_rules(
        lay, ["tr_a", "tr_b"], np.stack([v, v]), test_ids, np.zeros((6, H, H), bool)
    )
    np.testing.assert_array_equal(out[0], v)  # above a vertical tile at row 3: filled
    assert not out[3].any()  # above a vertical tile at row 2: not filled
    assert not out[[1, 2, 4, 5]].any()  # other columns untouched
    assert counts == {"vertical_down": 0, "vertical_up": 1, "empty_below_full_salt": 0}


def test_vertical_rule_can_be_switched_off():
    lay = layout({"tr": (0, 0), "te": (1, 0)})
    out, counts = apply_mosaic_rules(
        lay, ["tr"], vertical_mask(30)[None], ["te"], np.zeros((1, H, H), bool), vertical=False
    )
    assert not out.any() and sum(counts.values()) == 0


def test_empty_below_full_salt_2x2():
    lay = layout({"tr": (0, 0), "te_right": (0, 1), "te_below": (1, 0), "te_diag": (1, 1)})
    preds = np.stack([other_mask()] * 3)
    args = (lay, ["tr"], full_bottom_mask()[None], ["te_right", "te_below", "te_diag"], preds)
    out, counts = apply_mosaic_rules(*args)
    np.testing.assert_array_equal(out, preds)  # off by default
    out, counts = apply_mosaic_rules(*args, empty_below_full_salt=True)
    assert not out[1].any()
    np.testing.assert_array_equal(out[[0, 2]], preds[[0, 2]])
    assert counts == {"vertical_down": 0, "vertical_up": 0, "empty_below_full_salt": 1}


def test_counts_only_tiles_that_change_and_ignores_unplaced_tiles():
    v = vertical_mask(30)
    lay = layout({"tr": (0, 0), "te": (1, 0)})
    out, counts = apply_mosaic_rules(lay, ["tr"], v[None], ["te", "loose"], np.stack([v, v]))
    np.testing.assert_array_equal(out, np.stack([v, v]))
    assert counts["vertical_down"] == 0


def test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="length"):
        apply_mosaic_rules(layout({}), ["a"], np.zeros((2, H, H), bool), [], np.zeros((0, H, H)))


def test_oof_rule_effects_let_other_folds_govern_each_fold():
    vertical = np.zeros((H, H), bool)
    vertical[:, :40] = True  # salt left of a vertical boundary, all the way down
    layout = pd.DataFrame({"id": ["a", "u", "b", "c"], "mosaic": 0, "row": [0, 1, 2, 3], "col": 0})
    ids = ["a", "b", "c"]  # u is an unlabelled tile between them
    folds = [0, 1, 1]
    truth = np.stack([vertical, vertical, vertical])
    predicted = np.stack([vertical, np.zeros((H, H), bool), vertical])  # b was missed
    table = oof_rule_effects(layout, ids, folds, truth, predicted).set_index("variant")
    assert table.loc["no mosaic rules", "score"] == pytest.approx(2 / 3)
    # a (fold 0) governs b and c (fold 1) through the unlabelled u: b becomes right
    assert table.loc["vertical", "score"] == pytest.approx(1.0)
    assert table.loc["vertical", "delta"] == pytest.approx(1 / 3)
    assert table.loc["vertical", "tiles_changed"] == 1
    # b and c never govern a: they are in another fold, but above nothing
    assert table.loc["empty_below_full_salt", "delta"] == 0.0
