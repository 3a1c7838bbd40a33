"""Re-assemble 101x101 tiles into the larger seismic sections they were cut from ("mosaics").

Method (the public "salt jigsaw puzzle" approach, tightened):

1. For every tile and every side, build an edge descriptor: the outer pixel line and the line
   extrapolated one pixel past the border (``2 * outer - next``). For a candidate pair (A left
   of B) A's extrapolation is compared with B's outer line and B's extrapolation with A's outer
   line, so one distance checks continuity from both sides. Each part is standardised
   (zero mean, unit variance), which makes the match insensitive to per-tile brightness and
   contrast. Sides whose grey values hardly vary carry no information and are never linked
   (this covers blank tiles).
2. For each pair of opposite sides, find the two nearest neighbours among all tiles, in both
   directions, with block-wise BLAS distance matrices.
3. A candidate link A->B needs B to be A's nearest neighbour and A to be B's (mutual best) and
   a small distance. It is strong when the ratio test ``1 - d1 / d2`` passes in both
   directions. The threshold starts at 0.25 (published) and rises when many candidates look
   like chance matches, which happens when only part of the tiles is given (see
   :func:`_ratio_threshold`).
4. Place tiles on a grid, merging strong links greedily from the most to the least confident;
   a link is dropped when it would put two tiles on one grid cell or contradict an earlier
   placement, or when the seams it creates between tiles that were not directly linked do not
   match. Then weaker links are added only where they close a loop: the merge must create
   another seam that is a mutual best match. Connected groups of >= 2 tiles are the mosaics.
5. Optionally (``free_ratio``), one more pass over the sides still free: nearest neighbours
   and the ratio test among free sides only, since a tile whose side is already placed is no
   rival; links passing the fixed threshold are placed as in step 4.

The result does not depend on the input order: tiles are processed sorted by id and mosaics
are numbered by size (largest first), then by their smallest id.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated

import cv2
import numpy as np
import pandas as pd
from pydantic import Field
from threadpoolctl import threadpool_info, threadpool_limits
from tqdm import tqdm

from saltseg.options import Bool, Fraction, Int, Number, Options, choice

logger = logging.getLogger(__name__)

_NULL_RANGE = 0.15  # ratio-test values below this are modelled as mostly false candidates
_MAX_RATIO = 0.5  # the adaptive threshold never goes above this
# (drow, dcol) from the first tile of a link to the second: "right of" and "below".
DIRECTIONS = {"h": (0, 1), "v": (1, 0)}


class MosaicOptions(Options):
    """Knobs of :func:`assemble`; defaults tuned on synthetic sections and checked on real tiles."""

    max_distance: Annotated[Number, Field(gt=0)] = 10.0  # accept d1 below this (RMS-normalised)
    min_ratio: Annotated[Number, Field(ge=0, lt=1)] = 0.25  # ratio test 1 - d1/d2, both ways
    max_false_rate: Fraction = 0.005  # raise min_ratio until this share of links is expected false
    mutual: Bool = True  # require mutual nearest neighbours
    normalise: choice("edge", "none") = "edge"  # standardise each descriptor line, or raw grey
    gradient: Bool = False  # add the across-border gradient as a part (measured: worse)
    smooth: Annotated[Number, Field(ge=0)] = 1.0  # Gaussian sigma (pixels) along each edge line
    min_edge_std: Annotated[Number, Field(ge=0)] = 2.0  # grey levels; flatter sides never link
    seam_factor: Annotated[Number, Field(ge=0)] = (
        1.5  # implied seams <= this x max_distance (0: off)
    )
    support_ratio: Annotated[Number, Field(ge=0)] = (
        0.1  # weaker links may close loops (>= min_ratio: off)
    )
    # A last pass with the ratio test among the sides still free (a tile whose side is already
    # placed is no rival), at this fixed threshold (the adaptive one saturates there); None: off.
    # Real tiles: 0.3 places 5,045 against 4,967 at the same flip-test estimate (docs/mosaics.md).
    free_ratio: Annotated[Number, Field(gt=0, lt=1)] | None = None
    block: Annotated[Int, Field(ge=1)] = 1024  # distance rows at a time (memory ~ block x N x 12 B)


def _options(opts: dict) -> MosaicOptions:
    return MosaicOptions.parse(opts, "mosaic options")


def _standardise(v: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per row (rows with no variance become zeros)."""
    v = v - v.mean(axis=1, keepdims=True)
    std = v.std(axis=1, keepdims=True)
    return np.divide(v, std, out=np.zeros_like(v), where=std > 1e-6)


def _edge_lines(images: np.ndarray, order: np.ndarray, orient: str) -> list[np.ndarray]:
    """Outer and next line of the first tile's and the second tile's side, float32 (N, L) each.

    For "h" the first tile is on the left, for "v" on top. Only these lines are copied, never
    whole tiles, to keep memory small.
    """
    if orient == "h":
        picks = [np.s_[:, :, -1], np.s_[:, :, -2], np.s_[:, :, 0], np.s_[:, :, 1]]
    else:
        picks = [np.s_[:, -1, :], np.s_[:, -2, :], np.s_[:, 0, :], np.s_[:, 1, :]]
    return [np.ascontiguousarray(images[p][order], dtype=np.float32) for p in picks]


def _descriptors(lines: list[np.ndarray], o: MosaicOptions) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors of the first tile's side (q) and the second tile's side (k), float32 (N, D)."""
    if o.smooth > 0:
        # Along the line only: across the border the pixels must stay as they are.
        ksize = (2 * int(np.ceil(3 * o.smooth)) + 1, 1)
        lines = [cv2.GaussianBlur(v, ksize, o.smooth) for v in lines]
    a_out, a_in, b_out, b_in = lines
    q_parts = [2 * a_out - a_in, a_out]
    k_parts = [b_out, 2 * b_out - b_in]
    if o.gradient:
        q_parts.append(a_out - a_in)
        k_parts.append(b_in - b_out)
    if o.normalise == "edge":
        q_parts = [_standardise(p) for p in q_parts]
        k_parts = [_standardise(p) for p in k_parts]
    # Normalise by the number of parts so distances read like one line's RMS-scaled distance.
    scale = np.float32(1.0 / np.sqrt(len(q_parts)))
    q = np.ascontiguousarray(np.concatenate(q_parts, axis=1) * scale, dtype=np.float32)
    k = np.ascontiguousarray(np.concatenate(k_parts, axis=1) * scale, dtype=np.float32)
    return q, k


@dataclass
class _Neighbours:
    """Two nearest neighbours of each first-side (rows) and each second-side (cols) descriptor."""

    row_nn: np.ndarray  # (N,) global index of the nearest second tile, -1 if none
    row_d1: np.ndarray
    row_d2: np.ndarray
    col_nn: np.ndarray  # (N,) global index of the nearest first tile, -1 if none
    col_d1: np.ndarray
    col_d2: np.ndarray


def _two_smallest(d: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the smallest value, the smallest and the second-smallest value along ``axis``."""
    i1 = np.argmin(d, axis=axis)
    v1 = np.take_along_axis(d, np.expand_dims(i1, axis), axis).squeeze(axis)
    # Second smallest: mask the winner temporarily rather than sorting the whole line.
    if axis == 1:
        rows = np.arange(d.shape[0])
        d[rows, i1] = np.inf
        v2 = d.min(axis=1)
        d[rows, i1] = v1
    else:
        cols = np.arange(d.shape[1])
        d[i1, cols] = np.inf
        v2 = d.min(axis=0)
        d[i1, cols] = v1
    return i1, v1, v2


def _blas_threads() -> int:
    """The threads BLAS is set to use (its own default: the cores)."""
    blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(blas) if blas else os.cpu_count() or 1


def _block_best_two(
    qa: np.ndarray, ka_t: np.ndarray, self_rows: np.ndarray, self_cols: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Best two (index, squared distance) per row and per column of one block of rows."""
    # The augmented descriptors make one product the whole squared distance
    # |q|^2 + |k|^2 - 2 q.k, with no pass over the block to add the norms.
    d = qa @ ka_t
    d[self_rows, self_cols] = np.inf  # a tile is never its own neighbour
    r1, rv1, rv2 = _two_smallest(d, axis=1)
    if len(d) >= 2:
        c1, cv1, cv2 = _two_smallest(d, axis=0)
    else:
        c1, cv1, cv2 = np.zeros(d.shape[1], np.int64), d[0], np.full(d.shape[1], np.inf, d.dtype)
    return r1, rv1, rv2, c1, cv1, cv2


def _nearest(
    q: np.ndarray, k: np.ndarray, qv: np.ndarray, kv: np.ndarray, block: int, desc: str
) -> _Neighbours:
    """Two nearest neighbours both ways between valid rows of ``q`` and ``k`` (self excluded)."""
    n = len(q)
    out = _Neighbours(
        row_nn=np.full(n, -1, np.int64),
        row_d1=np.full(n, np.inf, np.float32),
        row_d2=np.full(n, np.inf, np.float32),
        col_nn=np.full(n, -1, np.int64),
        col_d1=np.full(n, np.inf, np.float32),
        col_d2=np.full(n, np.inf, np.float32),
    )
    qi, ki = np.flatnonzero(qv), np.flatnonzero(kv)
    if len(qi) < 1 or len(ki) < 2:
        return out
    qs, ks = q[qi], k[ki]
    qn = np.einsum("ij,ij->i", qs, qs)[:, None]
    kn = np.einsum("ij,ij->i", ks, ks)[:, None]
    ones_q, ones_k = np.ones_like(qn), np.ones_like(kn)
    qa = np.ascontiguousarray(np.hstack([-2.0 * qs, qn, ones_q]), dtype=np.float32)
    ka_t = np.ascontiguousarray(np.hstack([ks, ones_k, kn]).T, dtype=np.float32)
    pos = np.searchsorted(ki, qi)
    is_self = (pos < len(ki)) & (ki[np.minimum(pos, len(ki) - 1)] == qi)
    # Blocks run side by side, each product on one BLAS thread: the passes over each block
    # that pick the best two are single-threaded in NumPy, so blocks in parallel keep every
    # core busy (docs/mosaics.md, "Speed"); NumPy releases the GIL in the product and the
    # reductions.
    # As many blocks as BLAS would use threads (OMP_NUM_THREADS and the like set the limit),
    # sharing the ``block`` rows, so that memory stays as it was with one.
    workers = max(1, min(_blas_threads(), -(-len(qi) // block)))
    rows = max(1, -(-block // workers))
    starts = list(range(0, len(qi), rows))

    def work(s: int) -> tuple[np.ndarray, ...]:
        e = min(s + rows, len(qi))
        hits = np.flatnonzero(is_self[s:e])
        return _block_best_two(qa[s:e], ka_t, hits, pos[s:e][hits])

    c_nn = np.full(len(ki), -1, np.int64)
    c_d1 = np.full(len(ki), np.inf, np.float32)
    c_d2 = np.full(len(ki), np.inf, np.float32)
    with threadpool_limits(1), ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(work, starts)
        for s, (r1, rv1, rv2, b1, bv1, bv2) in zip(
            starts, tqdm(results, total=len(starts), desc=desc, leave=False,
                         disable=len(starts) < 4), strict=True,
        ):  # fmt: skip
            e = min(s + rows, len(qi))
            out.row_nn[qi[s:e]] = ki[r1]
            out.row_d1[qi[s:e]] = rv1
            out.row_d2[qi[s:e]] = rv2
            # Merge in block order with the running best two (ties keep the earlier row).
            better = bv1 < c_d1
            new_d2 = np.where(better, np.minimum(c_d1, bv2), np.minimum(c_d2, bv1))
            c_nn = np.where(better, qi[s + b1], c_nn)
            c_d1 = np.where(better, bv1, c_d1)
            c_d2 = new_d2
    out.col_nn[ki] = c_nn
    out.col_d1[ki] = c_d1
    out.col_d2[ki] = c_d2
    for name in ("row_d1", "row_d2", "col_d1", "col_d2"):
        # Rounding can take a squared distance a little below 0.
        setattr(out, name, np.sqrt(np.maximum(getattr(out, name), 0.0)))
    return out


def _links(nb: _Neighbours, o: MosaicOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate links (first, second, confidence = the weaker of the two ratio tests)."""
    a = np.flatnonzero(nb.row_nn >= 0)
    b = nb.row_nn[a]
    d1 = nb.row_d1[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_a = 1.0 - d1 / nb.row_d2[a]
        ratio_b = 1.0 - nb.col_d1[b] / nb.col_d2[b]
    ratio_a = np.nan_to_num(ratio_a, nan=0.0)
    ratio_b = np.nan_to_num(ratio_b, nan=0.0)
    ok = d1 < o.max_distance
    if o.mutual:
        ok &= nb.col_nn[b] == a
    conf = np.minimum(ratio_a, ratio_b)
    return a[ok], b[ok], conf[ok].astype(np.float64)


def _ratio_threshold(conf: np.ndarray, o: MosaicOptions) -> float:
    """Smallest ratio threshold >= ``min_ratio`` whose expected share of false links is small.

    Candidates whose true neighbour is missing (section edges; most tiles when only part of the
    tiles is given) have ratio-test values that fall off exponentially from 0, while true but
    ambiguous links spread evenly. Three equal bins over [0, 0.15) give the exponential's scale
    and size (differences of neighbouring bins cancel the even part), hence how many false
    candidates pass a threshold. With all tiles present no falling-off part shows and the
    threshold stays at ``min_ratio``; with a sparse subset it rises.
    """
    if o.max_false_rate <= 0:
        return o.min_ratio
    n1, n2, n3 = np.histogram(conf, bins=np.linspace(0, _NULL_RANGE, 4))[0].astype(float)
    if not (n1 > n2 > n3) or n1 < 20:
        return o.min_ratio
    a = (n2 - n3) / (n1 - n2)  # exp(-width / scale)
    scale = float(np.clip(-(_NULL_RANGE / 3) / np.log(a), 0.02, 0.2)) if 0 < a < 1 else 0.2
    n_false = (n1 - n2) / (1 - np.exp(-(_NULL_RANGE / 3) / scale)) ** 2
    for t in np.arange(o.min_ratio, _MAX_RATIO, 0.01):
        if n_false * np.exp(-t / scale) <= o.max_false_rate * max(int((conf > t).sum()), 1):
            return float(t)
    return _MAX_RATIO


class _Grid:
    """Groups of tiles with grid positions; merges two groups only if no cell is claimed twice."""

    def __init__(self, n: int):
        self.group = np.arange(n)
        self.pos = np.zeros((n, 2), np.int64)
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}
        self.cells: dict[int, dict[tuple[int, int], int]] = {i: {(0, 0): i} for i in range(n)}

    def try_link(self, a: int, b: int, step: tuple[int, int], check_seams) -> str:
        """Place b at a + step.

        Returns "merged", "consistent", "conflict" or what ``check_seams(seams)`` objects to.
        """
        ga, gb = self.group[a], self.group[b]
        target = (int(self.pos[a, 0] + step[0]), int(self.pos[a, 1] + step[1]))
        if ga == gb:
            return "consistent" if tuple(self.pos[b]) == target else "conflict"
        off = (target[0] - int(self.pos[b, 0]), target[1] - int(self.pos[b, 1]))
        # Move the smaller group into the larger one's frame.
        if len(self.members[ga]) >= len(self.members[gb]):
            keep, move, shift = ga, gb, off
        else:
            keep, move, shift = gb, ga, (-off[0], -off[1])
        big = self.cells[keep]
        moved = {(r + shift[0], c + shift[1]): t for (r, c), t in self.cells[move].items()}
        if any(cell in big for cell in moved):
            return "conflict"
        # Seams between tiles that touch after the merge but were never linked must match too.
        seams = []
        for (r, c), t in moved.items():
            for (dr, dc), orient in (((0, 1), "h"), ((1, 0), "v")):
                right = big.get((r + dr, c + dc))
                if right is not None:
                    seams.append((orient, t, right))
                left = big.get((r - dr, c - dc))
                if left is not None:
                    seams.append((orient, left, t))
        seams = [s for s in seams if {s[1], s[2]} != {a, b}]
        problem = check_seams(seams)
        if problem:
            return problem
        for cell, t in moved.items():
            self.group[t] = keep
            self.pos[t] = cell
        big.update(moved)
        self.members[keep].extend(self.members.pop(move))
        del self.cells[move]
        return "merged"


@dataclass
class _Side:
    """Descriptors and neighbour tables of one orientation ("h" or "v")."""

    q: np.ndarray
    k: np.ndarray
    q_valid: np.ndarray
    k_valid: np.ndarray
    nb: _Neighbours

    def seam_distance(self, first: int, second: int) -> float:
        diff = self.q[first] - self.k[second]
        return float(np.sqrt(diff @ diff))

    def mutual_best(self, first: int, second: int) -> bool:
        return bool(self.nb.row_nn[first] == second and self.nb.col_nn[second] == first)


def side_descriptors(
    images: np.ndarray, order: np.ndarray, orient: str, o: MosaicOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Descriptors of every tile's first side (right or bottom: ``q``) and second side (left or
    top: ``k``) of one orientation, in ``order``, with whether each side carries evidence."""
    lines = _edge_lines(images, order, orient)
    # Sides whose raw grey values hardly vary carry no evidence (blank tiles included).
    qv = lines[0].std(axis=1) >= o.min_edge_std
    kv = lines[2].std(axis=1) >= o.min_edge_std
    q, k = _descriptors(lines, o)
    return q, k, qv, kv


def mutual_links(
    q: np.ndarray, k: np.ndarray, q_valid: np.ndarray, k_valid: np.ndarray, o: MosaicOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate links between first sides ``q`` and second sides ``k`` (row ``i`` of both is
    one tile, never linked to itself): first, second and the weaker of the two ratio tests."""
    return _links(_nearest(q, k, q_valid, k_valid, o.block, desc="mosaic links"), o)


def _side(images: np.ndarray, order: np.ndarray, orient: str, o: MosaicOptions) -> _Side:
    """Descriptors and the two nearest neighbours of every tile side of one orientation."""
    q, k, qv, kv = side_descriptors(images, order, orient, o)
    return _Side(q, k, qv, kv, _nearest(q, k, qv, kv, o.block, desc=f"mosaic {orient}"))


def _taken_sides(grid: _Grid, step: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Tiles whose first side (right/bottom) and whose second side (left/top) touch a tile."""
    first = np.zeros(len(grid.group), bool)
    second = np.zeros(len(grid.group), bool)
    for cells in grid.cells.values():
        for (r, c), t in cells.items():
            first[t] |= (r + step[0], c + step[1]) in cells
            second[t] |= (r - step[0], c - step[1]) in cells
    return first, second


def _free_links(
    grid: _Grid, sides: dict[str, _Side], o: MosaicOptions
) -> list[tuple[int, int, tuple[int, int]]]:
    """Links between sides that are still free, most confident first.

    The ratio test of the first pass compares a side's best match with its runner-up among all
    tiles; when the runner-up's side is already placed against another tile it is no rival, so
    here nearest neighbours and ratios are taken among free sides only.
    """
    found = []
    for orient, step in DIRECTIONS.items():
        side = sides[orient]
        first_taken, second_taken = _taken_sides(grid, step)
        nb = _nearest(
            side.q, side.k, side.q_valid & ~first_taken, side.k_valid & ~second_taken,
            o.block, desc=f"mosaic {orient} free",
        )  # fmt: skip
        a, b, conf = _links(nb, o)
        keep = conf > o.free_ratio
        found += [
            (c, int(x), int(y), step) for x, y, c in zip(a[keep], b[keep], conf[keep], strict=True)
        ]
        logger.info(
            "%s: %d links between free sides, %d above %.2f",
            orient, len(a), int(keep.sum()), o.free_ratio,
        )  # fmt: skip
    # Most confident first; ties by tile order (deterministic).
    found.sort(key=lambda f: (-f[0], f[1], f[2], f[3]))
    return [(x, y, step) for _, x, y, step in found]


def _check_seams(
    seams: list[tuple[str, int, int]], sides: dict[str, _Side], limit: float, need_support: bool
) -> str | None:
    """Why a merge creating ``seams`` must not happen ("bad_seam", "unsupported"), or None."""
    supported = False
    for orient, first, second in seams:
        side = sides[orient]
        if not (side.q_valid[first] and side.k_valid[second]):
            continue  # flat sides carry no evidence either way
        if limit > 0 and side.seam_distance(first, second) >= limit:
            return "bad_seam"
        supported |= side.mutual_best(first, second)
    return "unsupported" if need_support and not supported else None


def assemble(
    images: np.ndarray, ids: Sequence[str], options: MosaicOptions | None = None, **opts
) -> pd.DataFrame:
    """Re-assemble tiles into mosaics.

    Returns one row per placed tile (tiles in mosaics of at least two tiles) with columns
    ``id, mosaic, row, col``; mosaics are numbered 0.. by size (largest first) then smallest id;
    ``row`` grows downwards, ``col`` to the right, each starting at 0 within a mosaic.
    ``attrs["ratio_thresholds"]`` holds the ratio threshold chosen per orientation ("h", "v").
    Options: a :class:`MosaicOptions`, or its fields as keywords.
    """
    o = options if options is not None else _options(opts)
    images = np.asarray(images)
    ids = np.asarray([str(i) for i in ids])
    if images.ndim != 3 or len(images) != len(ids):
        raise ValueError(f"expected {len(ids)} images shaped (N, H, W), got {images.shape}")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("tile ids must be unique")
    # Work in id order so the result cannot depend on the caller's order.
    order = np.argsort(ids, kind="stable")
    ids = ids[order]

    sides: dict[str, _Side] = {}
    thresholds: dict[str, float] = {}
    parts = []  # per orientation: first, second, confidence, drow, dcol, strong
    for orient, (dr, dc) in DIRECTIONS.items():
        side = sides[orient] = _side(images, order, orient, o)
        a, b, conf = _links(side.nb, o)
        threshold = thresholds[orient] = _ratio_threshold(conf, o)
        keep = conf > min(threshold, o.support_ratio)
        logger.info(
            "%s: %d candidate links, ratio threshold %.2f: %d strong",
            orient,
            len(a),
            threshold,
            int((conf > threshold).sum()),
        )
        m = int(keep.sum())
        parts.append(
            (a[keep], b[keep], conf[keep], np.full(m, dr), np.full(m, dc), conf[keep] > threshold)
        )
    a, b, conf, drow, dcol, strong = (np.concatenate(p) for p in zip(*parts, strict=True))

    # Most confident first; ties broken by tile order so the result is deterministic.
    link_order = np.lexsort((dcol, b, a, -conf))
    limit = o.seam_factor * o.max_distance
    grid = _Grid(len(ids))
    outcome: dict[str, int] = {}

    def place(first: int, second: int, step: tuple[int, int], kind: str = "") -> str:
        res = grid.try_link(
            first,
            second,
            step,
            lambda seams: _check_seams(seams, sides, limit, need_support=kind == "weak_"),
        )
        outcome[kind + res] = outcome.get(kind + res, 0) + 1
        return res

    def place_link(i: int, kind: str = "") -> str:
        return place(int(a[i]), int(b[i]), (int(drow[i]), int(dcol[i])), kind)

    for i in link_order[strong[link_order]]:
        place_link(i)
    # Weak links (ratio test failed) may only close loops: the merge must also create another
    # seam whose two sides are each other's best match. Repeat while they still add tiles.
    weak = link_order[~strong[link_order]]
    for _ in range(3):
        if not any([place_link(i, "weak_") == "merged" for i in weak]):
            break
    if o.free_ratio is not None:
        for first, second, step in _free_links(grid, sides, o):
            place(first, second, step, "free_")
    logger.info("links: %s", outcome)
    layout = _layout_table(ids, grid)
    layout.attrs["ratio_thresholds"] = thresholds  # what the adaptive ratio test chose
    return layout


def _layout_table(ids: np.ndarray, grid: _Grid) -> pd.DataFrame:
    groups = [m for m in grid.members.values() if len(m) >= 2]
    # Canonical numbering: largest first, then by smallest id (ids are sorted, so min index).
    groups.sort(key=lambda m: (-len(m), min(m)))
    rows = []
    for number, members in enumerate(groups):
        m = np.asarray(sorted(members))
        p = grid.pos[m]
        p = p - p.min(axis=0)
        rows.append(pd.DataFrame({"id": ids[m], "mosaic": number, "row": p[:, 0], "col": p[:, 1]}))
    if not rows:
        return pd.DataFrame(
            {
                "id": pd.Series(dtype=str),
                "mosaic": pd.Series(dtype=np.int64),
                "row": pd.Series(dtype=np.int64),
                "col": pd.Series(dtype=np.int64),
            }
        )
    out = pd.concat(rows, ignore_index=True)
    return out.astype({"mosaic": np.int64, "row": np.int64, "col": np.int64})


def candidate_links(
    images: np.ndarray, ids: Sequence[str], options: MosaicOptions | None = None
) -> pd.DataFrame:
    """Every mutual-best candidate link the assembly weighs (before the grid accepts or drops
    it): ``first, second, direction`` ("h": second right of first, "v": below), ``distance``
    (the seam's descriptor distance) and ``ratio`` (the weaker of the two ratio tests)."""
    o = options or MosaicOptions()
    ids = np.asarray([str(i) for i in ids])
    order = np.argsort(ids, kind="stable")
    out = []
    for orient in DIRECTIONS:
        nb = _side(images, order, orient, o).nb
        a, b, conf = _links(nb, o)
        out.append(
            pd.DataFrame(
                {
                    "first": ids[order][a],
                    "second": ids[order][b],
                    "direction": orient,
                    "distance": nb.row_d1[a].astype(np.float64),
                    "ratio": conf,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def seam_distances(
    images: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    orient: str,
    options: MosaicOptions | None = None,
) -> np.ndarray:
    """Descriptor distance of each seam ``second`` right of (``orient`` "h") or below ("v")
    ``first`` (row numbers into ``images``), measured as :func:`assemble` measures candidates;
    NaN where a side is too flat to carry evidence."""
    o = options or MosaicOptions()
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    a_out, a_in, _, _ = _edge_lines(images, first, orient)
    _, _, b_out, b_in = _edge_lines(images, second, orient)
    q, k = _descriptors([a_out, a_in, b_out, b_in], o)
    d = np.sqrt(((q - k) ** 2).sum(axis=1))
    flat = (a_out.std(axis=1) < o.min_edge_std) | (b_out.std(axis=1) < o.min_edge_std)
    return np.where(flat, np.nan, d)


def summarize(layout: pd.DataFrame) -> dict:
    """Counts a person checks first: mosaics, tiles placed, largest mosaic."""
    sizes = layout.groupby("mosaic").size() if len(layout) else pd.Series(dtype=np.int64)
    return {
        "mosaics": int(len(sizes)),
        "tiles_placed": int(len(layout)),
        "largest_mosaic": int(sizes.max()) if len(sizes) else 0,
        "median_mosaic": float(sizes.median()) if len(sizes) else 0.0,
    }
