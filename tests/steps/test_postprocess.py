"""The post-processing and submission steps on files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saltseg.data.tileset import TileSet, save_tileset
from saltseg.errors import SaltsegError
from saltseg.io.masks import load_masks, save_masks
from saltseg.io.probs import save_probs
from saltseg.rle import encode
from saltseg.steps.postprocess import answers_file, postprocess, postprocess_oof, submission

S = 101


def empty_maps(n: int) -> np.ndarray:
    return np.zeros((n, S, S), dtype=np.float32)


def stat(stats: pd.DataFrame, step: str, column: str = "tiles_changed"):
    return stats.set_index("step").loc[step, column]


def test_postprocess_step(tmp_path, fake_mosaic) -> None:
    ids = ["tr0", "tr1", "te0", "te1", "te2"]
    table = pd.DataFrame(
        {
            "id": ids,
            "split": ["train"] * 2 + ["test"] * 3,
            "z": np.arange(5.0),
            "coverage": [0.0, 0.5, np.nan, np.nan, np.nan],
            "blank": [False, False, True, False, False],
        }
    )
    masks = np.zeros((5, S, S), dtype=bool)
    masks[1, 50:] = True
    images = np.zeros((5, S, S), dtype=np.uint8)
    save_tileset(TileSet(table, images, masks), tmp_path / "tiles")

    probs = empty_maps(3)
    probs[0] = 0.9  # blank tile
    probs[1, 40:] = 0.55
    probs[2, 40:] = 0.45
    save_probs(tmp_path / "test.npz", ["te0", "te1", "te2"], probs)
    pd.DataFrame(
        {"model": ["m", "blend"], "best_threshold": [0.6, 0.42], "best_score": [0.8, 0.9]}
    ).to_csv(tmp_path / "table.csv", index=False)
    pd.DataFrame({"id": ["tr0", "te1", "te0", "te2"], "mosaic": 0, "row": 0, "col": 0}).to_parquet(
        tmp_path / "layout.parquet"
    )
    truth = np.zeros((3, S, S), dtype=bool)
    truth[1:, 40:] = True
    (tmp_path / "synth" / "truth").mkdir(parents=True)
    pd.DataFrame(
        {"id": ["te2", "te0", "te1"], "rle_mask": [encode(m) for m in truth[[2, 0, 1]]]}
    ).to_csv(answers_file(truth=tmp_path / "synth"), index=False)

    stats = postprocess(
        probs=tmp_path / "test.npz",
        scores=tmp_path / "table.csv",
        tiles=tmp_path / "tiles" / "tiles.parquet",
        masks=tmp_path / "out" / "masks.npz",
        stats=tmp_path / "out" / "stats.csv",
        ablation=tmp_path / "out" / "ablation.csv",
        settings={"threshold": "oof", "mosaic_rules": {"enabled": False}},
        layout=tmp_path / "layout.parquet",
        truth=tmp_path / "synth",
    )
    out_ids, out = load_masks(tmp_path / "out" / "masks.npz")
    assert out_ids.tolist() == ["te0", "te1", "te2"]
    np.testing.assert_array_equal(out, truth)  # threshold 0.42 keeps te2, blank te0 emptied
    assert stat(stats, "threshold", "detail") == "threshold=0.42"
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "stats.csv", keep_default_na=False), stats, check_dtype=False
    )
    abl = pd.read_csv(tmp_path / "out" / "ablation.csv").set_index("variant")
    assert abl.loc["full", "score"] == pytest.approx(1.0)
    assert abl.loc["threshold 0.5", "score"] == pytest.approx(2 / 3)
    assert "with mosaic" in abl.index  # the layout lets the ablation try the mosaic rules
    assert len(fake_mosaic) == 1
    np.testing.assert_array_equal(fake_mosaic[0][2], masks[:2])  # the train masks from the tile set

    # Answers for part of the test tiles (saltseg split --keep-unlabelled): scored on those.
    pd.DataFrame({"id": ["te2"], "rle_mask": [encode(truth[2])]}).to_csv(
        tmp_path / "part.csv", index=False
    )
    postprocess(
        probs=tmp_path / "test.npz", scores=tmp_path / "table.csv",
        tiles=tmp_path / "tiles" / "tiles.parquet", masks=tmp_path / "p" / "masks.npz",
        stats=tmp_path / "p" / "stats.csv", ablation=tmp_path / "p" / "ablation.csv",
        settings={"threshold": "oof", "mosaic_rules": {"enabled": False}},
        answers=tmp_path / "part.csv",
    )  # fmt: skip
    abl = pd.read_csv(tmp_path / "p" / "ablation.csv").set_index("variant")
    assert abl.loc["full", "score"] == pytest.approx(1.0)  # te2 kept at 0.42
    assert abl.loc["threshold 0.5", "score"] == pytest.approx(0.0)  # and lost at 0.5
    assert abl.loc["full", "nonempty"] == 1

    outputs = {
        "masks": tmp_path / "x.npz",
        "stats": tmp_path / "x.csv",
        "ablation": tmp_path / "a.csv",
    }
    with pytest.raises(SaltsegError, match="missing.csv: unreadable score table"):
        postprocess(
            tmp_path / "test.npz", tmp_path / "missing.csv", tmp_path / "tiles", **outputs,
            settings={"threshold": "oof", "mosaic_rules": {"enabled": False}},
        )  # fmt: skip
    with pytest.raises(SaltsegError, match="no mosaic layout"):
        postprocess(
            tmp_path / "test.npz", tmp_path / "table.csv", tmp_path / "tiles", **outputs,
            settings={"mosaic_rules": {"enabled": True}},
        )  # fmt: skip
    assert not any(p.exists() for p in outputs.values())


def test_postprocess_oof_step_scores_every_labelled_tile(tmp_path) -> None:
    # tr0 is vertical salt above tr1 (weak map); tr2 is blank, in no fold; te0 a test tile
    ids = ["tr0", "tr1", "tr2", "te0"]
    table = pd.DataFrame(
        {
            "id": ids,
            "split": ["train"] * 3 + ["test"],
            "z": np.arange(4.0),
            "coverage": [0.4, 0.4, 0.0, np.nan],
            "blank": [False, False, True, False],
        }
    )
    masks = np.zeros((4, S, S), dtype=bool)
    masks[:2, :, :40] = True
    save_tileset(TileSet(table, np.zeros((4, S, S), np.uint8), masks), tmp_path / "tiles")
    tiles = tmp_path / "tiles" / "tiles.parquet"
    pd.DataFrame({"id": ["tr0", "tr1", "tr2"], "fold": [0, 1, -1]}).to_parquet(
        tmp_path / "folds.parquet"
    )
    save_probs(tmp_path / "oof.npz", ["tr1", "tr0"], np.stack([0.6 * masks[1], 0.9 * masks[0]]))
    pd.DataFrame({"model": ["blend"], "best_threshold": [0.7], "best_score": [0.5]}).to_csv(
        tmp_path / "scores.csv", index=False
    )
    pd.DataFrame({"id": ids, "mosaic": [0, 0, 1, 2], "row": [0, 1, 0, 0], "col": 0}).to_parquet(
        tmp_path / "layout.parquet"
    )
    settings = {"threshold": "oof", "mosaic_rules": {"enabled": True, "vertical": True}}
    out = tmp_path / "out" / "oof_ablation.csv"

    def run(oof=tmp_path / "oof.npz", folds=tmp_path / "folds.parquet", ablation=out):
        return postprocess_oof(
            oof, tmp_path / "scores.csv", folds, tiles, ablation, settings,
            layout=tmp_path / "layout.parquet",
        )  # fmt: skip

    run()
    rows = pd.read_csv(out).set_index("variant")
    assert rows.loc["full", "threshold"] == 0.7  # the blend's OOF threshold
    assert rows.loc["full", "score"] == pytest.approx(1.0)  # tr1 continued from tr0's mask
    assert rows.loc["no mosaic", "score"] == pytest.approx(2 / 3)

    bad = tmp_path / "bad" / "oof_ablation.csv"
    save_probs(tmp_path / "test.npz", ["te0"], empty_maps(1))
    with pytest.raises(SaltsegError, match="test.npz: 1 id.* not train tiles"):
        run(oof=tmp_path / "test.npz", ablation=bad)
    save_probs(tmp_path / "part.npz", ["tr0"], empty_maps(1))
    with pytest.raises(SaltsegError, match="part.npz: no out-of-fold map for train tile 'tr1'"):
        run(oof=tmp_path / "part.npz", ablation=bad)
    pd.DataFrame({"id": ["tr0", "tr1"], "fold": [0, 1]}).to_parquet(tmp_path / "short.parquet")
    with pytest.raises(SaltsegError, match="short.parquet: 1 id"):
        run(folds=tmp_path / "short.parquet", ablation=bad)
    assert not bad.exists()


def test_submission_step_writes_every_test_id_and_scores_it(tmp_path) -> None:
    ids = ["tr0", "te0", "te1"]
    table = pd.DataFrame(
        {
            "id": ids,
            "split": ["train", "test", "test"],
            "z": [1.0, 2.0, 3.0],
            "coverage": [0.0, np.nan, np.nan],
            "blank": [False, False, False],
        }
    )
    zeros = np.zeros((3, S, S), dtype=bool)
    save_tileset(TileSet(table, zeros.astype(np.uint8), zeros), tmp_path / "tiles")
    salt = np.zeros((2, S, S), dtype=bool)
    salt[1, 60:] = True
    save_masks(tmp_path / "masks.npz", ["te1", "te0"], salt[[1, 0]])
    (tmp_path / "synth" / "truth").mkdir(parents=True)
    pd.DataFrame({"id": ["te0", "te1"], "rle_mask": [encode(m) for m in salt]}).to_csv(
        answers_file(truth=tmp_path / "synth"), index=False
    )
    result = submission(
        tmp_path / "masks.npz",
        tmp_path / "tiles",
        tmp_path / "out" / "submission.csv",
        tmp_path / "out" / "score.txt",
        truth=tmp_path / "synth",
    )
    assert result["score"] == pytest.approx(1.0)
    written = pd.read_csv(tmp_path / "out" / "submission.csv", keep_default_na=False)
    assert written["id"].tolist() == ["te0", "te1"] and written["rle_mask"].iloc[0] == ""
    assert "test score: 1.0000 on 2 images" in (tmp_path / "out" / "score.txt").read_text()
    # An answers file (data.answers, e.g. from `saltseg split`) scores it the same way; here
    # it disagrees on te1, which then scores 0.
    pd.DataFrame({"id": ["te0", "te1"], "rle_mask": ["", ""]}).to_csv(
        tmp_path / "answers.csv", index=False
    )
    result = submission(
        tmp_path / "masks.npz", tmp_path / "tiles", tmp_path / "s.csv", tmp_path / "s.txt",
        answers=tmp_path / "answers.csv",
    )  # fmt: skip
    assert result["score"] == pytest.approx(0.5) and result["nonempty_truth"] == 0
    # Answers for part of the tiles score those, and say how many have none.
    pd.DataFrame({"id": ["te1"], "rle_mask": [encode(salt[1])]}).to_csv(
        tmp_path / "part.csv", index=False
    )
    result = submission(
        tmp_path / "masks.npz", tmp_path / "tiles", tmp_path / "p.csv", tmp_path / "p.txt",
        answers=tmp_path / "part.csv",
    )  # fmt: skip
    assert result["score"] == pytest.approx(1.0) and result["unscored"] == 1
    assert (
        "test score: 1.0000 on 1 images (1 test tiles without answers)"
        in (tmp_path / "p.txt").read_text()
    )

    save_masks(tmp_path / "short.npz", ["te0"], salt[:1])
    with pytest.raises(SaltsegError, match="short.npz: 1 id"):
        submission(
            tmp_path / "short.npz", tmp_path / "tiles", tmp_path / "x.csv", tmp_path / "x.txt"
        )
    assert not (tmp_path / "x.csv").exists()
