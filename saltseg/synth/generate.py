"""Synthetic TGS-like data set in the exact Kaggle layout, with the truth for test and mosaics.

Each section is one continuous seismic image (see saltseg.synth.section) cut on a 101-px grid, so
neighbouring tiles match at their edges like the real tiles do. Written to `out_dir`:

- train/images/<id>.png, test/images/<id>.png: RGB PNG with three equal channels
- train/masks/<id>.png: 16-bit 0/65535 when there is salt, 8-bit zeros when empty
- train.csv (id,rle_mask), depths.csv (id,z) for all ids or train ids only
- truth/test.csv (id,rle_mask), truth/layout.csv (id,section,row,col)
- contact_sheet.png, sections.png: previews for a person to judge realism

Like the TGS labels, a tile that is all salt is labelled empty (the real train set has no
all-salt mask, and winning post-processing empties predicted all-salt masks).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
from pydantic import Field
from tqdm import tqdm

from saltseg import rle
from saltseg.data.tileset import TILE
from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_dir
from saltseg.options import Bool, Int, Number, Options, choice
from saltseg.synth import preview
from saltseg.synth.salt import EMPTY_TARGET, SaltLayout, salt_layout, tile_sums
from saltseg.synth.section import render_section

logger = logging.getLogger(__name__)

BLANK_RATE = 0.04  # expected blank tiles per tile (TGS: ~1.8% of train, ~2.4% of test)
SHEET_TILES = 48
SHEET_SECTIONS = 2
MAX_DEPTH_SPAN = 900.0  # TGS z (feet) spans ~50-960; taller sections are compressed into it


@dataclass
class Plan:
    """Per-tile facts fixed before rendering (arrays of length n_tiles, section-major order)."""

    section: np.ndarray
    row: np.ndarray
    col: np.ndarray
    z: np.ndarray  # int
    empty: np.ndarray  # bool: label has no salt (includes blank and all-salt tiles)
    blank: np.ndarray  # bool
    full: np.ndarray  # bool: tile is all salt (labelled empty)
    layouts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # packed mask, diapirs; seafloor
    z_top: np.ndarray  # float (sections,): depth of each section's first pixel row
    z_step: float  # depth per pixel row (tall sections are compressed into TGS's depth span)


class SynthOptions(Options):
    """What to generate: ``sections`` sections of ``rows`` x ``cols`` tiles."""

    seed: Int = 0
    sections: Annotated[Int, Field(ge=1)] = 8
    rows: Annotated[Int, Field(ge=1)] = 6
    cols: Annotated[Int, Field(ge=1)] = 21
    train_fraction: Annotated[Number, Field(gt=0.0, le=1.0)] = 0.18  # share of tiles with masks
    depths: choice("all", "train") = "all"  # which ids depths.csv covers
    # Like the Kaggle set, where most tiles' neighbours are missing: the share of each section's
    # tiles written (the others are left out, truth layout included).
    keep_fraction: Annotated[Number, Field(gt=0.0, le=1.0)] = 1.0
    # Independent Gaussian grey-level noise per pixel of every non-blank tile, which makes seams
    # as far apart as the real ones (saltseg mosaic's descriptor distance; docs/mosaics.md).
    tile_noise: Annotated[Number, Field(ge=0.0)] = 0.0
    # Each non-blank tile min-max stretched to 0..255 on its own, after the noise, as the Kaggle
    # tiles were (94% of the real tiles have a pixel at 0, 92% one at 255): the seams between
    # tiles then show the real tiles' brightness steps (docs/mosaics.md, the cut test).
    tile_stretch: Bool = False


def generate(
    out_dir: str | os.PathLike,
    options: SynthOptions | None = None,
    *,
    contact_sheet: bool = True,
    **fields,
) -> dict:
    """Write a synthetic TGS-like data set to `out_dir` (new or empty); return a summary.

    ``options`` or its fields as keywords say what to generate. Byte-identical output for the
    same options. Train/test assignment is random but stratified on empty/non-empty masks, so the
    train set keeps the whole set's empty fraction.
    """
    out = Path(out_dir)
    o = options if options is not None else SynthOptions.parse(fields, str(out))
    seed, sections, rows, cols = o.seed, o.sections, o.rows, o.cols
    train_fraction, depths = o.train_fraction, o.depths
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SaltsegError(f"{out}: output exists and is not an empty directory; not overwriting")
    started = time.perf_counter()
    seq_ids, seq_split, seq_sheet, *seq_sections = np.random.SeedSequence(seed).spawn(3 + sections)
    section_rngs = [[np.random.default_rng(s) for s in seq.spawn(2)] for seq in seq_sections]
    plan = _plan(section_rngs, rows, cols)
    n = plan.section.size
    ids = _tile_ids(np.random.default_rng(seq_ids), n)
    is_train = _split(np.random.default_rng(seq_split), plan.empty, train_fraction)
    # The sparse/noisy variant draws from a stream of its own, so that the default output stays
    # byte-identical to what it was before these options existed.
    extra = np.random.default_rng([seed, 1])
    keep = extra.random(n) < o.keep_fraction if o.keep_fraction < 1 else np.ones(n, bool)
    if not keep.any():
        raise SaltsegError(f"{out}: keep_fraction {o.keep_fraction} leaves none of the {n} tiles")
    is_train &= keep
    sheet_idx = set(_sheet_tiles(np.random.default_rng(seq_sheet), plan, is_train).tolist())

    with atomic_dir(out) as tmp:
        for sub in ("train/images", "train/masks", "test/images", "truth"):
            (tmp / sub).mkdir(parents=True)
        rle_rows: dict[int, str] = {}
        sheet: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        vertical = half_vertical = 0
        previews = []
        for k in tqdm(range(sections), desc="synth sections", unit="section"):
            salt = _unpack(plan.layouts[k], rows * TILE, cols * TILE)
            image = render_section(section_rngs[k][1], salt)
            if k < SHEET_SECTIONS:
                previews.append((image, salt.mask))
            for i, tile, label in _section_tiles(plan, k, image, salt.mask):
                if not keep[i]:
                    continue
                if (o.tile_noise > 0 or o.tile_stretch) and not plan.blank[i]:
                    grey = tile.astype(np.float64)
                    if o.tile_noise > 0:
                        grey += extra.normal(0.0, o.tile_noise, tile.shape)
                    if o.tile_stretch:
                        grey = stretch(grey)
                    tile = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
                _write_tile(tmp, ids[i], tile, label, bool(is_train[i]))
                rle_rows[i] = rle.encode(label)
                if is_train[i]:
                    vertical += _repeats_last_row(label, TILE)
                    half_vertical += _repeats_last_row(label, 50)
                if i in sheet_idx:
                    sheet[i] = (tile, label)
        _write_tables(tmp, ids, plan, is_train, keep, rle_rows, depths)
        if contact_sheet:
            order = sorted(sheet, key=ids.__getitem__)  # random mix of empty and salty
            grid = preview.contact_sheet([sheet[i][0] for i in order], [sheet[i][1] for i in order])
            _write_png(tmp / "contact_sheet.png", grid)
            _write_png(
                tmp / "sections.png",
                preview.sections_sheet([p[0] for p in previews], [p[1] for p in previews], TILE),
            )

    n_train, n_kept = int(is_train.sum()), int(keep.sum())
    summary = {
        "sections": sections,
        "tiles": n_kept,
        "train": n_train,
        "test": n_kept - n_train,
        "train_empty_fraction": round(float(plan.empty[is_train].mean()), 4) if n_train else 0.0,
        "empty_fraction": round(float(plan.empty[keep].mean()), 4),
        "all_salt_tiles": int((plan.full & keep).sum()),
        "blank": int((plan.blank & keep).sum()),
        "blank_train": int((plan.blank & is_train).sum()),
        "vertical_train": vertical,
        "half_vertical_train": half_vertical,
    }
    logger.info(
        "synth: wrote %d tiles (%d train) to %s in %.1f s: %s",
        n,
        n_train,
        out,
        time.perf_counter() - started,
        summary,
    )
    return summary


def stretch(grey: np.ndarray) -> np.ndarray:
    """Grey values mapped linearly so that the lowest is 0 and the highest 255 (a flat tile
    stays as it is)."""
    low, high = float(grey.min()), float(grey.max())
    if high - low < 1e-6:
        return grey
    return (grey - low) * (255.0 / (high - low))


@dataclass(frozen=True)
class SynthSection:
    """One whole synthetic section with its truth, before it is cut into tiles."""

    image: np.ndarray  # uint8 (rows * 101, cols * 101)
    salt: np.ndarray  # bool, the same shape: the salt itself (all-salt tiles included)
    z_top: float  # depth (TGS z units) of the first pixel row
    z_step: float  # depth per pixel row


def synth_section(seed: int = 0, rows: int = 6, cols: int = 21) -> SynthSection:
    """The section that ``generate(seed=seed, sections=1, rows=rows, cols=cols)`` cuts into
    tiles: the same random streams, so its tiles are that data set's tiles."""
    seq_sections = np.random.SeedSequence(seed).spawn(4)[3:]
    rngs = [[np.random.default_rng(s) for s in seq.spawn(2)] for seq in seq_sections]
    plan = _plan(rngs, rows, cols)
    salt = _unpack(plan.layouts[0], rows * TILE, cols * TILE)
    image = render_section(rngs[0][1], salt)
    return SynthSection(image, salt.mask, float(plan.z_top[0]), float(plan.z_step))


def _plan(section_rngs: list[list[np.random.Generator]], rows: int, cols: int) -> Plan:
    """Salt geometry, blank tiles and depths of every section (cheap; no rendering yet).

    Sections vary a lot in salt content, so each section's empty-tile target is steered by the
    running empty fraction of the sections before it, keeping the whole set near TGS's 38%.
    """
    h, w = rows * TILE, cols * TILE
    per = rows * cols
    grid_r, grid_c = np.divmod(np.arange(per), cols)
    scale = min(1.0, MAX_DEPTH_SPAN / h)
    fields: dict[str, list[np.ndarray]] = {k: [] for k in ("z", "empty", "blank", "full")}
    layouts = []
    n_empty = 0
    z_top = []
    for k, (rng, _) in enumerate(section_rngs):
        running = n_empty / (k * per) if k else EMPTY_TARGET
        steer = np.clip((EMPTY_TARGET - running) * min(k, 3), -0.35, 0.35)
        salt = salt_layout(rng, h, w, empty_target=EMPTY_TARGET + steer)
        counts = tile_sums(salt.mask).ravel()
        full = counts == TILE * TILE
        blank = _blank_tiles(rng, counts.reshape(rows, cols)).ravel()
        z0 = rng.uniform(0, max(0.0, 960 - scale * h))
        z_top.append(z0)
        fields["z"].append(np.rint(z0 + scale * (grid_r * TILE + TILE / 2)).astype(np.int64))
        fields["empty"].append((counts == 0) | full)
        fields["blank"].append(blank)
        fields["full"].append(full)
        layouts.append((np.packbits(salt.mask), np.packbits(salt.diapirs), salt.seafloor))
        n_empty += int(fields["empty"][-1].sum())
    n_sections = len(section_rngs)
    return Plan(
        section=np.repeat(np.arange(n_sections), per),
        row=np.tile(grid_r, n_sections),
        col=np.tile(grid_c, n_sections),
        layouts=layouts,
        z_top=np.array(z_top),
        z_step=scale,
        **{k: np.concatenate(v) for k, v in fields.items()},
    )


def _blank_tiles(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Dead/padding tiles: a run of salt-free tiles from a corner along the top or a side."""
    rows, cols = counts.shape
    blank = np.zeros((rows, cols), bool)
    n = rng.poisson(BLANK_RATE * rows * cols)
    start = rng.integers(4)
    if start == 0:
        path = [(0, c) for c in range(cols)]
    elif start == 1:
        path = [(0, c) for c in reversed(range(cols))]
    else:
        c = 0 if start == 2 else cols - 1
        path = [(r, c) for r in range(rows)]
    for r, c in path[:n]:
        if counts[r, c]:
            break
        blank[r, c] = True
    return blank


def _unpack(packed: tuple[np.ndarray, np.ndarray, np.ndarray], h: int, w: int) -> SaltLayout:
    mask, diapirs = (np.unpackbits(p, count=h * w).reshape(h, w).astype(bool) for p in packed[:2])
    return SaltLayout(mask, diapirs, packed[2])


def _tile_ids(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct 10-hex-digit ids like Kaggle's."""
    values = np.zeros(0, np.int64)
    while values.size < n:
        draw = rng.integers(0, 16**10, size=n - values.size + 8)
        values = np.concatenate([values, draw])
        _, first = np.unique(values, return_index=True)
        values = values[np.sort(first)]
    return [f"{v:010x}" for v in values[:n].tolist()]


def _split(rng: np.random.Generator, empty: np.ndarray, train_fraction: float) -> np.ndarray:
    """Random train mask, stratified on empty/non-empty labels."""
    n = empty.size
    n_train = min(n, max(1, round(train_fraction * n)))
    n_train_empty = round(n_train * empty.mean())
    is_train = np.zeros(n, bool)
    for pool, k in ((np.flatnonzero(empty), n_train_empty), (np.flatnonzero(~empty), None)):
        k = n_train - n_train_empty if k is None else k
        k = min(k, pool.size)
        is_train[rng.choice(pool, size=k, replace=False)] = True
    short = n_train - int(is_train.sum())  # only when one stratum is too small
    if short > 0:
        is_train[rng.choice(np.flatnonzero(~is_train), size=short, replace=False)] = True
    return is_train


def _sheet_tiles(rng: np.random.Generator, plan: Plan, is_train: np.ndarray) -> np.ndarray:
    """Up to SHEET_TILES train tiles for the contact sheet: half with salt, half empty."""
    salty = np.flatnonzero(is_train & ~plan.empty)
    empty = np.flatnonzero(is_train & plan.empty & ~plan.blank)
    n_salty = min(salty.size, SHEET_TILES // 2)
    n_empty = min(empty.size, SHEET_TILES - n_salty)
    picks = [rng.choice(salty, n_salty, replace=False), rng.choice(empty, n_empty, replace=False)]
    return np.concatenate(picks)


def _cut(section: np.ndarray) -> np.ndarray:
    """(rows*cols, 101, 101) tiles in row-major grid order."""
    h, w = section.shape
    return section.reshape(h // TILE, TILE, w // TILE, TILE).swapaxes(1, 2).reshape(-1, TILE, TILE)


def _section_tiles(
    plan: Plan, k: int, image: np.ndarray, mask: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(tile index, image, label) for every tile of section k, with the TGS labelling quirks:
    all-salt tiles are labelled empty, blank tiles are one grey value (0) and empty."""
    first = int(np.searchsorted(plan.section, k))
    for j, (tile, salt) in enumerate(zip(_cut(image), _cut(mask), strict=True)):
        i = first + j
        label = np.zeros_like(salt) if plan.empty[i] else salt
        yield i, (np.zeros_like(tile) if plan.blank[i] else tile), label


def _repeats_last_row(label: np.ndarray, n_rows: int) -> bool:
    """The mosaic rule's "vertical" test: the bottom n_rows rows all equal the last row, which
    has some salt but is not all salt."""
    last = label[-1]
    return bool(last.any() and not last.all() and (label[-n_rows:] == last).all())


def _write_tile(root: Path, tile_id: str, tile: np.ndarray, label: np.ndarray, train: bool) -> None:
    split = "train" if train else "test"
    _write_png(root / split / "images" / f"{tile_id}.png", cv2.merge([tile] * 3))
    if train:
        _write_png(root / "train" / "masks" / f"{tile_id}.png", _mask_png(label))


def _mask_png(label: np.ndarray) -> np.ndarray:
    """Kaggle's quirk: masks with salt are 16-bit 0/65535, empty masks 8-bit zeros."""
    if label.any():
        return label.astype(np.uint16) * np.uint16(65535)
    return np.zeros(label.shape, np.uint8)


def _write_png(path: Path, data: np.ndarray) -> None:
    if not cv2.imwrite(str(path), data):
        raise SaltsegError(f"{path}: could not write PNG")


def _write_tables(
    root: Path,
    ids: list[str],
    plan: Plan,
    is_train: np.ndarray,
    keep: np.ndarray,
    rle_rows: dict[int, str],
    depths: str,
) -> None:
    by_id = [i for i in sorted(range(len(ids)), key=ids.__getitem__) if keep[i]]
    train = [i for i in by_id if is_train[i]]
    test = [i for i in by_id if not is_train[i]]
    with_z = by_id if depths == "all" else train

    def write(rel: str, header: str, lines: list[str]) -> None:
        (root / rel).write_text(header + "\n" + "".join(line + "\n" for line in lines))

    write("train.csv", "id,rle_mask", [f"{ids[i]},{rle_rows[i]}" for i in train])
    write("depths.csv", "id,z", [f"{ids[i]},{plan.z[i]}" for i in with_z])
    write("truth/test.csv", "id,rle_mask", [f"{ids[i]},{rle_rows[i]}" for i in test])
    write(
        "truth/layout.csv",
        "id,section,row,col",
        [f"{ids[i]},{plan.section[i]},{plan.row[i]},{plan.col[i]}" for i in by_id],
    )
