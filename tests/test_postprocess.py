"""Post-processing: each step on hand-made maps, the mosaic hook, ablation, the config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saltseg import metric
from saltseg.errors import SaltsegError
from saltseg.postprocess import (
    ABLATION_COLUMNS,
    STATS_COLUMNS,
    MosaicRules,
    PostprocessConfig,
    ablation,
    binarise,
    oof_ablation,
    oof_mosaic_rule_effects,
    postprocess,
    remove_small_components,
)

S = 101


def empty_maps(n: int) -> np.ndarray:
    return np.zeros((n, S, S), dtype=np.float32)


def plain(**settings) -> PostprocessConfig:
    """A config without the mosaic rules (they are on by default and need a layout)."""
    return PostprocessConfig(mosaic_rules=MosaicRules(enabled=False), **settings)


def stat(stats: pd.DataFrame, step: str, column: str = "tiles_changed"):
    return stats.set_index("step").loc[step, column]


def test_threshold_step() -> None:
    probs = empty_maps(3)
    probs[0, :10] = 0.55
    probs[1, :10] = 0.45
    ids, blank = np.array(["a", "b", "c"]), np.zeros(3, bool)
    masks, stats = postprocess(probs, ids, blank, plain(threshold=0.5))
    assert masks[0].sum() == 10 * S and not masks[1].any() and not masks[2].any()
    masks, stats = postprocess(probs, ids, blank, plain(threshold=0.4))
    assert masks[1].sum() == 10 * S
    assert list(stats.columns) == STATS_COLUMNS
    assert stats["step"].tolist() == [
        "threshold",
        "empty_below",
        "min_component",
        "blank_empty",
        "mosaic",
        "all_salt_empty",
    ]
    assert stat(stats, "threshold") == 2 and stat(stats, "threshold", "nonempty_after") == 2


def test_empty_below_keeps_only_tiles_with_a_confident_pixel() -> None:
    probs = empty_maps(3)
    probs[0, :10] = 0.65  # salt at 0.5, but never confident
    probs[1, :10] = 0.65
    probs[1, 0, 0] = 0.9  # one confident pixel keeps the whole body
    ids, blank = np.array(["a", "b", "c"]), np.zeros(3, bool)
    masks, stats = postprocess(probs, ids, blank, plain(empty_below=0.8))
    assert not masks[0].any() and masks[1].sum() == 10 * S and not masks[2].any()
    assert (
        stat(stats, "empty_below") == 1
        and stat(stats, "empty_below", "detail") == "empty_below=0.8"
    )
    masks, stats = postprocess(probs, ids, blank, plain())
    assert masks[0].any() and not stat(stats, "empty_below", "enabled")
    truth = np.zeros((3, S, S), dtype=bool)
    rows = ablation(probs, ids, blank, truth, plain(empty_below=0.8)).set_index("variant")
    assert rows.loc["no empty_below", "delta"] == pytest.approx(-1 / 3)
    with pytest.raises(SaltsegError, match="empty_below 'oof' needs the final blend's score"):
        postprocess(probs, ids, blank, plain(empty_below="oof"))


def test_small_components_removed_big_kept() -> None:
    masks = np.zeros((3, S, S), dtype=bool)
    masks[0, 0:3, 0:3] = True  # 9 px: removed
    masks[0, 50:70, 50:70] = True  # 400 px: kept
    masks[1, 98:101, 0:4] = True  # 12 px at the bottom edge: kept (>= 10)
    masks[2, 0:2, 0:4] = True  # 8 px at the top edge, would touch tile 1 if tiles were glued
    masks[2, 2, 4] = True  # diagonal neighbour: same 8-connected component -> 9 px, removed
    out, removed = remove_small_components(masks, 10)
    assert removed == 2
    assert not out[0, 0:3, 0:3].any() and out[0, 50:70, 50:70].all()
    np.testing.assert_array_equal(out[1], masks[1])
    assert not out[2].any()
    probs = masks.astype(np.float32)
    _, stats = postprocess(probs, np.array(list("abc")), np.zeros(3, bool), plain())
    assert stat(stats, "min_component") == 0  # min_component 0: off
    final, stats = postprocess(
        probs, np.array(list("abc")), np.zeros(3, bool), plain(min_component=10)
    )
    np.testing.assert_array_equal(final, out)
    assert stat(stats, "min_component") == 2
    assert stat(stats, "min_component", "pixels_changed") == 18


def test_blank_emptied_and_all_salt_emptied() -> None:
    probs = empty_maps(3) + 0.9  # three all-salt predictions
    probs[2, 0, 0] = 0.1  # almost all salt: kept
    ids, blank = np.array(["a", "b", "c"]), np.array([True, False, False])
    masks, stats = postprocess(probs, ids, blank, plain())
    assert not masks[0].any() and masks[1].all()
    assert stat(stats, "blank_empty") == 1 and stat(stats, "all_salt_empty") == 0
    masks, stats = postprocess(probs, ids, blank, plain(all_salt_empty=True))
    assert not masks[1].any() and masks[2].sum() == S * S - 1
    assert stat(stats, "all_salt_empty") == 1
    masks, _ = postprocess(probs, ids, blank, plain(blank_empty=False))
    assert masks[0].all()


def mosaic_inputs() -> dict:
    train_masks = np.zeros((2, S, S), dtype=bool)
    train_masks[1, 60:] = True
    layout = pd.DataFrame({"id": ["x", "y", "a"], "mosaic": 0, "row": [0, 1, 2], "col": 0})
    return {"layout": layout, "train_ids": np.array(["x", "y"]), "train_masks": train_masks}


def test_mosaic_hook_called_with_the_right_arguments(fake_mosaic) -> None:
    probs = empty_maps(3)
    probs[1, :5] = 0.9
    probs[2] = 0.9
    ids, blank = np.array(["a", "b", "c"]), np.array([False, False, True])
    mosaic = mosaic_inputs()
    cfg = PostprocessConfig(
        mosaic_rules=MosaicRules(enabled=True, vertical=False, empty_below_full_salt=True)
    )
    masks, stats = postprocess(probs, ids, blank, cfg, mosaic=mosaic)
    assert len(fake_mosaic) == 1
    layout, train_ids, train_masks, test_ids, test_masks, kw = fake_mosaic[0]
    assert layout is mosaic["layout"]
    assert train_ids.tolist() == ["x", "y"]
    np.testing.assert_array_equal(train_masks, mosaic["train_masks"])
    assert test_ids.tolist() == ["a", "b", "c"]
    # the hook sees masks after threshold, components and blank emptying
    np.testing.assert_array_equal(test_masks, (probs > 0.5) & ~blank[:, None, None])
    assert kw == {"vertical": False, "empty_below_full_salt": True}
    assert masks[0].all()
    assert stat(stats, "mosaic") == 1 and '"filled": 1' in stat(stats, "mosaic", "detail")

    postprocess(probs, ids, blank, plain(), mosaic=mosaic)
    assert len(fake_mosaic) == 1  # disabled: not called
    with pytest.raises(SaltsegError, match="no mosaic layout"):
        postprocess(probs, ids, blank, cfg)


def test_ablation_rows_measure_each_rule(fake_mosaic) -> None:
    truth = np.zeros((4, S, S), dtype=bool)
    truth[1, 50:] = True
    probs = empty_maps(4)
    probs[1, 50:] = 0.8
    probs[0, 0:2, 0:2] = 0.8  # a speck on an empty truth: min_component helps
    probs[2] = 0.9  # blank tile predicted salt: blank_empty helps
    probs[3] = 0.95  # all salt on an empty truth: all_salt_empty would help
    ids, blank = np.array(["a", "b", "c", "d"]), np.array([False, False, True, False])
    cfg = plain(threshold=0.6, min_component=10)
    table = ablation(probs, ids, blank, truth, cfg, mosaic=mosaic_inputs())
    assert list(table.columns) == ABLATION_COLUMNS
    rows = table.set_index("variant")
    assert list(rows.index) == [
        "full",
        "threshold 0.5",
        "no min_component",
        "no blank_empty",
        "with all_salt_empty",
        "with mosaic",
        "no rules (p > 0.5)",
    ]
    full = metric.score(truth, postprocess(probs, ids, blank, cfg)[0])
    assert rows.loc["full", "score"] == pytest.approx(full) == pytest.approx(0.75)
    assert rows.loc["full", "delta"] == 0.0
    assert rows.loc["no min_component", "delta"] == pytest.approx(-0.25)
    assert rows.loc["no blank_empty", "delta"] == pytest.approx(-0.25)
    assert rows.loc["with all_salt_empty", "delta"] == pytest.approx(0.25)
    # the fake mosaic rule fills tile a (empty truth): one more wrong tile
    assert rows.loc["with mosaic", "delta"] == pytest.approx(-0.25)
    assert rows.loc["threshold 0.5", "threshold"] == 0.5


def test_ablation_with_mosaic_enabled_switches_each_part(fake_mosaic) -> None:
    probs = empty_maps(2)
    cfg = PostprocessConfig(all_salt_empty=True, mosaic_rules=MosaicRules(enabled=True))
    truth = np.zeros((2, S, S), dtype=bool)
    table = ablation(probs, np.array(["a", "b"]), np.zeros(2, bool), truth, cfg, mosaic_inputs())
    assert table["variant"].tolist() == [
        "full",
        "no blank_empty",
        "no all_salt_empty",
        "no mosaic",
        "mosaic without vertical",
        "mosaic with empty_below_full_salt",
        "no rules (p > 0.5)",
    ]
    kws = [call[-1] for call in fake_mosaic]
    assert {"vertical": False, "empty_below_full_salt": False} in kws
    assert {"vertical": True, "empty_below_full_salt": True} in kws


def test_binarise_thresholds_then_empties_tiles_without_a_confident_pixel() -> None:
    probs = empty_maps(2)
    probs[0, :5, :5] = 0.6
    probs[1, :5, :5] = 0.9
    for off in (None, float("nan")):
        assert binarise(probs, 0.5, off).reshape(2, -1).sum(axis=1).tolist() == [25, 25]
    assert binarise(probs, 0.7).reshape(2, -1).sum(axis=1).tolist() == [0, 25]
    assert binarise(probs, 0.5, 0.8).reshape(2, -1).sum(axis=1).tolist() == [0, 25]


def test_oof_mosaic_rule_effects_binarise_as_postprocess_does_before_the_rules() -> None:
    # a (fold 0) is vertical salt and governs b (fold 1) below it, whose map is weak
    vertical = np.zeros((S, S), np.float32)
    vertical[:, :40] = 1.0
    layout = pd.DataFrame({"id": ["a", "b"], "mosaic": 0, "row": [0, 1], "col": 0})
    truth = np.stack([vertical, vertical]).astype(bool)
    probs = np.stack([0.9 * vertical, 0.6 * vertical])
    ids, folds = np.array(["a", "b"]), np.array([0, 1])

    def effects(threshold, empty_below):
        table = oof_mosaic_rule_effects(layout, ids, folds, truth, probs, threshold, empty_below)
        return table.set_index("variant")

    # at 0.5 both tiles are right already: the rule changes nothing
    assert effects(0.5, None).loc["vertical", "tiles_changed"] == 0
    assert effects(0.5, float("nan")).loc["no mosaic rules", "score"] == 1.0
    # empty_below 0.7 empties b first; the rule then gives it a's last row back
    table = effects(0.5, 0.7)
    assert table.loc["no mosaic rules", "score"] == 0.5
    assert table.loc["vertical", "score"] == 1.0 and table.loc["vertical", "tiles_changed"] == 1


def test_oof_ablation_post_processes_each_fold_with_the_other_folds_truth() -> None:
    # a is vertical salt above b, whose map is weak; c is a blank tile in no fold (map zeros)
    vertical = np.zeros((S, S), np.float32)
    vertical[:, :40] = 1.0
    layout = pd.DataFrame({"id": ["a", "b", "c"], "mosaic": [0, 0, 1], "row": [0, 1, 0], "col": 0})
    truth = np.stack([vertical, vertical, 0 * vertical]).astype(bool)
    probs = np.stack([0.9 * vertical, 0.6 * vertical, 0 * vertical])
    ids, blank = np.array(["a", "b", "c"]), np.array([False, False, True])
    cfg = PostprocessConfig(threshold=0.7, mosaic_rules=MosaicRules(vertical=True))

    def rows(folds, cfg=cfg, layout=layout):
        table = oof_ablation(probs, ids, np.array(folds), blank, truth, cfg, layout)
        assert list(table.columns) == ABLATION_COLUMNS
        return table.set_index("variant")

    # b (fold 1) lost at 0.7, then continued from a's true mask (fold 0): every tile right
    table = rows([0, 1, -1])
    assert table.loc["full", "score"] == 1.0
    assert table.loc["no mosaic", "score"] == pytest.approx(2 / 3)
    assert table.loc["no mosaic", "delta"] == pytest.approx(-1 / 3)
    assert table.loc["threshold 0.5", "score"] == 1.0
    assert table.loc["full", "nonempty"] == 2
    assert "no blank_empty" not in table.index  # blank labelled tiles have no map to measure it
    # a and b in one fold: a's truth is held out with it, so nothing governs b
    assert rows([0, 0, -1]).loc["full", "score"] == pytest.approx(2 / 3)
    # no layout: no mosaic variants, and the rules must be off
    plain_cfg = plain(threshold=0.7)
    assert "with mosaic" not in rows([0, 1, -1], plain_cfg, None).index
    with pytest.raises(SaltsegError, match="no mosaic layout"):
        rows([0, 1, -1], cfg, None)
    with pytest.raises(ValueError, match="differ in length"):
        oof_ablation(probs, ids, np.array([0, 1]), blank, truth, cfg, layout)


def test_config_parse() -> None:
    cfg = PostprocessConfig.parse(
        {"threshold": "oof", "min_component": 20, "mosaic_rules": {"vertical": False}}
    )
    assert cfg.threshold == "oof" and cfg.mosaic_rules.enabled and not cfg.mosaic_rules.vertical
    assert PostprocessConfig.parse(None) == PostprocessConfig()
    with pytest.raises(SaltsegError, match="treshold: unknown key"):
        PostprocessConfig.parse({"treshold": 0.5})
    with pytest.raises(SaltsegError, match="mosaic_rules.on: unknown key"):
        PostprocessConfig.parse({"mosaic_rules": {"on": True}})
    with pytest.raises(SaltsegError, match="threshold"):
        PostprocessConfig.parse({"threshold": "best"})
    with pytest.raises(SaltsegError, match="threshold"):
        PostprocessConfig.parse({"threshold": True})
    with pytest.raises(SaltsegError, match="min_component"):
        PostprocessConfig.parse({"min_component": -1})
    assert PostprocessConfig.parse({"empty_below": "oof"}).empty_below == "oof"
    assert PostprocessConfig.parse({"empty_below": None}).empty_below is None
    with pytest.raises(SaltsegError, match="empty_below"):
        PostprocessConfig.parse({"empty_below": 1.5})
