"""Read, validate, write and score Kaggle submissions (``id,rle_mask``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from saltseg import metric, rle
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path
from saltseg.io.csvfile import read_id_csv


def read_rle_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read an ``id,rle_mask`` CSV with every id once and every RLE valid."""
    df = read_id_csv(path, ["id", "rle_mask"])
    if list(df.columns[:2]) != ["id", "rle_mask"]:
        got = ",".join(map(str, df.columns))
        raise SaltsegError(f"{path}: expected columns id,rle_mask first, got {got[:60]!r}")
    return df[["id", "rle_mask"]]


def decode_all(df: pd.DataFrame, path: str | os.PathLike) -> np.ndarray:
    """Decode every RLE of an ``id,rle_mask`` table into a bool array (N, 101, 101)."""
    masks = np.zeros((len(df), rle.TILE, rle.TILE), dtype=bool)
    for i, (tid, text) in enumerate(zip(df["id"], df["rle_mask"], strict=True)):
        try:
            masks[i] = rle.decode(text)
        except SaltsegError as exc:
            raise SaltsegError(f"{path}: bad RLE for id {tid!r}: {exc}") from None
    return masks


def check_ids(found: Sequence[str], expected: Sequence[str], path: str | os.PathLike) -> None:
    """Every expected id exactly once, nothing else."""
    found_set, expected_set = set(found), set(expected)
    if len(found_set) != len(found):
        dup = pd.Series(list(found))
        raise SaltsegError(f"{path}: duplicate id {dup[dup.duplicated()].iloc[0]!r}")
    missing = sorted(expected_set - found_set)
    if missing:
        raise SaltsegError(f"{path}: {len(missing)} id(s) missing, e.g. {missing[0]!r}")
    extra = sorted(found_set - expected_set)
    if extra:
        raise SaltsegError(f"{path}: {len(extra)} unexpected id(s), e.g. {extra[0]!r}")


def write_submission(
    ids: Sequence[str],
    masks: np.ndarray,
    path: str | os.PathLike,
    expected_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Encode and write a submission, validated (ids, shapes, round trip) before writing."""
    ids = [str(i) for i in ids]
    masks = np.asarray(masks)
    if masks.shape != (len(ids), rle.TILE, rle.TILE):
        raise SaltsegError(f"{path}: expected {len(ids)} masks of 101x101, got {masks.shape}")
    check_ids(ids, expected_ids if expected_ids is not None else ids, path)
    df = pd.DataFrame({"id": ids, "rle_mask": [rle.encode(m) for m in masks]})
    if not np.array_equal(decode_all(df, path), masks > 0):
        raise SaltsegError(f"{path}: RLE round trip failed")  # a guard against encoder regressions
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return df


def read_masks(path: str | os.PathLike, ids: Sequence[str]) -> np.ndarray:
    """The masks of an ``id,rle_mask`` file in the order of ``ids``, which must be its ids."""
    df = read_rle_csv(path)
    check_ids(df["id"].tolist(), list(ids), path)
    return decode_all(df.set_index("id").loc[list(ids)].reset_index(), path)


def read_answers(
    path: str | os.PathLike, ids: Sequence[str], among: str = "the test tiles"
) -> tuple[np.ndarray, np.ndarray]:
    """The answers of an ``id,rle_mask`` file for some of ``ids``: (positions in ``ids``, masks),
    in the order of ``ids``. Ids without an answer are left out (e.g. unlabelled test tiles next
    to held-out ones, ``saltseg split --keep-unlabelled``); an answer for an id not in ``ids``
    is an error."""
    df = read_rle_csv(path)
    position = {str(tid): i for i, tid in enumerate(ids)}
    unknown = sorted(set(df["id"]) - set(position))
    if unknown:
        raise SaltsegError(f"{path}: {len(unknown)} id(s) not among {among}, e.g. {unknown[0]!r}")
    if df.empty:
        raise SaltsegError(f"{path}: no answers")
    df = df.assign(at=df["id"].map(position)).sort_values("at").reset_index(drop=True)
    return df["at"].to_numpy(), decode_all(df, path)


def score_files(
    submission: str | os.PathLike, answers: str | os.PathLike, *, partial: bool = False
) -> dict:
    """Score a submission against an answers CSV; also split by empty / non-empty truth.

    The submission must hold exactly the answered ids; with ``partial`` it may hold others too
    (tiles whose answers are unknown), which are left out of the score (``unscored``)."""
    if partial:
        sub = read_rle_csv(submission)
        at, truth = read_answers(answers, sub["id"].tolist(), among=f"the ids of {submission}")
        pred = decode_all(sub.iloc[at].reset_index(drop=True), submission)
        unscored = len(sub) - len(at)
    else:
        ans = read_rle_csv(answers)
        pred, truth, unscored = (
            read_masks(submission, ans["id"].tolist()),
            decode_all(ans, answers),
            0,
        )
    scores = metric.image_scores(truth, pred)
    empty = ~truth.reshape(len(truth), -1).any(axis=1)

    def mean(x: np.ndarray) -> float:
        return float(x.mean()) if x.size else float("nan")

    return {
        "score": mean(scores),
        "images": int(len(scores)),
        "empty_truth": int(empty.sum()),
        "score_empty_truth": mean(scores[empty]),
        "nonempty_truth": int((~empty).sum()),
        "score_nonempty_truth": mean(scores[~empty]),
        **({"unscored": unscored} if partial else {}),
    }
