import pandas as pd
import pytest

from saltseg.mosaic.evaluate import evaluate, neighbour_pairs


def truth_3x3() -> pd.DataFrame:
    """One 3x3 section (ids a..i row by row) and a lone tile z in another section."""
    rows = [(c, 0, i // 3, i % 3) for i, c in enumerate("abcdefghi")] + [("z", 1, 0, 0)]
    return pd.DataFrame(rows, columns=["id", "section", "row", "col"])


def layout(rows: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "mosaic", "row", "col"])


def test_neighbour_pairs():
    pairs = neighbour_pairs(truth_3x3(), "section")
    assert len(pairs) == 12  # 6 right-of + 6 below
    assert {("a", "b", "h"), ("a", "d", "v"), ("e", "f", "h"), ("f", "i", "v")} <= set(
        map(tuple, pairs.to_numpy())
    )


def test_perfect_layout_up_to_translation():
    truth = truth_3x3()
    pred = layout([(t, 4, r + 10, c - 2) for t, _, r, c in truth.iloc[:9].itertuples(index=False)])
    res = evaluate(pred, truth)
    assert res["precision"] == 1.0 and res["recall"] == 1.0
    assert res["pairs_wrong"] == 0 and res["wrong_pairs"] == []
    assert res["placed_fraction"] == 0.9
    assert res["split_max"] == 1 and res["tiles_misplaced"] == 0


def test_split_section_and_wrong_pair():
    truth = truth_3x3()
    # Top row as one mosaic; d, e as another, with z wrongly right of e.
    pred = layout(
        [("a", 0, 0, 0), ("b", 0, 0, 1), ("c", 0, 0, 2)]
        + [("d", 1, 0, 0), ("e", 1, 0, 1), ("z", 1, 0, 2)]
    )
    res = evaluate(pred, truth, unlinkable_ids=["g", "h", "i"])
    assert res["pairs_predicted"] == 4 and res["pairs_correct"] == 3
    assert res["precision"] == pytest.approx(0.75)
    assert res["recall"] == pytest.approx(3 / 12)
    assert res["pairs_linkable"] == 7  # pairs among a..f
    assert res["recall_linkable"] == pytest.approx(3 / 7)
    assert res["wrong_pairs"] == [("e", "z", "h")]
    assert res["split_max"] == 2 and res["split_mean"] == pytest.approx(1.5)
    assert res["sections_placed"] == 2
    assert res["mosaics_mixed"] == 1 and res["tiles_misplaced"] == 1


def test_misplaced_tile_in_a_mosaic():
    truth = truth_3x3()
    # b and c swapped: pairs a-c, c-b wrong, and two of the three tiles are off their offset.
    pred = layout([("a", 0, 0, 0), ("c", 0, 0, 1), ("b", 0, 0, 2)])
    res = evaluate(pred, truth)
    assert res["pairs_correct"] == 0 and res["pairs_wrong"] == 2
    assert res["tiles_misplaced"] == 2


def test_rejects_unknown_ids_and_bad_columns():
    truth = truth_3x3()
    with pytest.raises(ValueError, match="not in the truth"):
        evaluate(layout([("nope", 0, 0, 0), ("a", 0, 0, 1)]), truth)
    with pytest.raises(ValueError, match="lacks column"):
        evaluate(truth, truth)
