import numpy as np
import pytest

from saltseg import rle
from saltseg.errors import SaltsegError
from saltseg.io import submission


def masks(n, seed=0):
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 101, 101), bool)
    for i in range(1, n):
        out[i, rng.integers(0, 80) :, : rng.integers(1, 101)] = True
    return out


def test_write_and_score_perfect(tmp_path):
    ids = [f"id{i}" for i in range(5)]
    m = masks(5)
    submission.write_submission(ids, m, tmp_path / "sub.csv", expected_ids=ids)
    submission.write_submission(ids, m, tmp_path / "ans.csv")
    result = submission.score_files(tmp_path / "sub.csv", tmp_path / "ans.csv")
    assert result["score"] == 1.0 and result["images"] == 5
    assert result["empty_truth"] == 1 and result["nonempty_truth"] == 4


def test_score_split_by_empty(tmp_path):
    ids = ["a", "b"]
    truth = masks(2)  # a empty, b salty
    pred = np.zeros_like(truth)
    submission.write_submission(ids, truth, tmp_path / "ans.csv")
    submission.write_submission(ids, pred, tmp_path / "sub.csv")
    r = submission.score_files(tmp_path / "sub.csv", tmp_path / "ans.csv")
    assert r["score"] == 0.5
    assert r["score_empty_truth"] == 1.0 and r["score_nonempty_truth"] == 0.0


def test_writer_requires_every_expected_id_once(tmp_path):
    with pytest.raises(SaltsegError, match="1 id\\(s\\) missing"):
        submission.write_submission(["a"], masks(1), tmp_path / "s.csv", expected_ids=["a", "b"])
    with pytest.raises(SaltsegError, match="duplicate id 'a'"):
        submission.write_submission(["a", "a"], masks(2), tmp_path / "s.csv")
    with pytest.raises(SaltsegError, match="unexpected id"):
        submission.write_submission(["a", "c"], masks(2), tmp_path / "s.csv", expected_ids=["a"])
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(
    "body, match",
    [
        ("id,rle_mask\na,\nb,\n", "1 id\\(s\\) missing"),
        ("id,rle_mask\na,\nb,\nc,\nd,\n", "unexpected id"),
        ("id,rle_mask\na,\na,\nb,\nc,\n", "duplicate id 'a'"),
        ("id,rle_mask\na,1 2 3\nb,\nc,\n", "bad RLE for id 'a'"),
        ("name,mask\na,\n", "no id,rle_mask header \\(the first line is 'name,mask'\\)"),
    ],
)
def test_score_rejects_bad_submissions(tmp_path, body, match):
    (tmp_path / "ans.csv").write_text("id,rle_mask\na,\nb,1 5\nc,\n")
    (tmp_path / "sub.csv").write_text(body)
    with pytest.raises(SaltsegError, match=match):
        submission.score_files(tmp_path / "sub.csv", tmp_path / "ans.csv")


def test_rle_strings_in_file_match_encoder(tmp_path):
    m = masks(3)
    df = submission.write_submission(["x", "y", "z"], m, tmp_path / "s.csv")
    assert df["rle_mask"].tolist() == [rle.encode(k) for k in m]
    assert (tmp_path / "s.csv").read_text().splitlines()[1] == "x,"


def test_partial_scoring_leaves_out_the_tiles_without_answers(tmp_path):
    truth = masks(3)
    submission.write_submission(["a", "b"], truth[1:], tmp_path / "ans.csv")
    pred = truth.copy()
    pred[0, :5] = True  # "x" has no answer: its mask does not count
    submission.write_submission(["x", "b", "a"], pred[[0, 2, 1]], tmp_path / "sub.csv")
    with pytest.raises(SaltsegError, match="unexpected id"):
        submission.score_files(tmp_path / "sub.csv", tmp_path / "ans.csv")
    r = submission.score_files(tmp_path / "sub.csv", tmp_path / "ans.csv", partial=True)
    assert r["score"] == 1.0 and r["images"] == 2 and r["unscored"] == 1
    # An answer for a tile that is not in the submission is still an error.
    submission.write_submission(["b"], truth[2:], tmp_path / "one.csv")
    with pytest.raises(SaltsegError, match="ans.csv: 1 id\\(s\\) not among the ids of"):
        submission.score_files(tmp_path / "one.csv", tmp_path / "ans.csv", partial=True)


def test_read_answers_returns_positions_in_the_given_order(tmp_path):
    m = masks(3)
    submission.write_submission(["c", "a"], m[[2, 0]], tmp_path / "ans.csv")
    at, got = submission.read_answers(tmp_path / "ans.csv", ["a", "b", "c"])
    assert at.tolist() == [0, 2]
    assert np.array_equal(got, m[[0, 2]])
    with pytest.raises(
        SaltsegError, match="ans.csv: 1 id\\(s\\) not among the test tiles, e.g. 'c'"
    ):
        submission.read_answers(tmp_path / "ans.csv", ["a", "b"])
    (tmp_path / "none.csv").write_text("id,rle_mask\n")
    with pytest.raises(SaltsegError, match="none.csv: no answers"):
        submission.read_answers(tmp_path / "none.csv", ["a"])
