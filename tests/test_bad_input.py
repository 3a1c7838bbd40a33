"""The bad-input matrix: every malformed data folder or submission that saltseg is known to meet,
built here, and what each must get: a non-zero exit, exactly one line on stderr naming the file,
the input left as it was, and nothing written."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from saltseg import rle
from tests.conftest import make_kaggle_dir, write_image, write_mask

REPO = Path(__file__).resolve().parents[1]
IMAGES, MASKS, TEST = "train/images", "train/masks", "test/images"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(path: Path, side: int = 20000) -> None:
    """A valid grey PNG of side x side zeros: a few hundred KB declaring side^2 pixels."""
    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte + pixels
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def replace_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def first_rle_line(root: Path, rle_text: str) -> None:
    """Give train.csv's first salt tile (tr0001) another RLE."""
    lines = (root / "train.csv").read_text().splitlines()
    lines = [f"tr0001,{rle_text}" if line.startswith("tr0001,") else line for line in lines]
    (root / "train.csv").write_text("\n".join(lines) + "\n")


def make_dir_link_loop(root: Path) -> None:
    shutil.rmtree(root / "test")
    (root / "test").mkdir()
    os.symlink("images", root / "test" / "images")  # a link to itself


def to_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def colour(root: Path) -> None:
    rgb = np.zeros((101, 101, 3), np.uint8)
    rgb[:, :, 1] = 9
    assert cv2.imwrite(str(root / IMAGES / "tr0000.png"), rgb)


def sixteen_bit_image(root: Path) -> None:
    assert cv2.imwrite(str(root / IMAGES / "tr0000.png"), np.zeros((101, 101), np.uint16))


def jpeg_as_png(root: Path) -> None:
    ok, data = cv2.imencode(".jpg", np.zeros((101, 101), np.uint8))
    assert ok
    (root / TEST / "te0001.png").write_bytes(data.tobytes())


def bad_mask_values(root: Path) -> None:
    mask = np.zeros((101, 101), np.uint16)
    mask[:10] = 300
    assert cv2.imwrite(str(root / MASKS / "tr0003.png"), mask)


def truncated(root: Path) -> None:
    path = root / IMAGES / "tr0001.png"
    path.write_bytes(path.read_bytes()[:200])


def duplicate_suffix(root: Path) -> None:
    shutil.copy(root / IMAGES / "tr0001.png", root / IMAGES / "tr0001.PNG")


def train_test_duplicate(root: Path) -> None:
    shutil.copy(root / TEST / "te0001.png", root / IMAGES / "te0001.png")
    shutil.copy(root / MASKS / "tr0000.png", root / MASKS / "te0001.png")


def rle_disagrees(root: Path) -> None:
    mask = np.zeros((101, 101), bool)
    mask[:5, :5] = True
    write_mask(root / MASKS / "tr0001.png", mask)


def no_pngs(root: Path) -> None:
    for folder in (IMAGES, MASKS):
        for p in (root / folder).iterdir():
            p.unlink()


def latin1_train_csv(root: Path) -> None:
    data = (root / "train.csv").read_bytes().replace(b"tr0002,", b"tr0002\xe9,", 1)
    (root / "train.csv").write_bytes(data)


# (case, how to break the folder, what the one line must say, the file it must name)
DATA_CASES = [
    ("junk bytes", lambda r: (r / IMAGES / "tr0001.png").write_bytes(b"not a png"),
     "not a PNG file", f"{IMAGES}/tr0001.png"),
    ("zero-byte PNG", lambda r: (r / IMAGES / "tr0001.png").write_bytes(b""),
     "empty file, not a PNG", f"{IMAGES}/tr0001.png"),
    ("truncated PNG", truncated, "unreadable PNG (truncated or corrupt data)",
     f"{IMAGES}/tr0001.png"),
    ("JPEG under a .png name", jpeg_as_png, "JPEG data, not a PNG", f"{TEST}/te0001.png"),
    ("wrong size", lambda r: write_image(r / TEST / "te0001.png", np.zeros((100, 101), np.uint8)),
     "expected 101x101 pixels, got 100x101", f"{TEST}/te0001.png"),
    ("PNG bomb", lambda r: png_bomb(r / TEST / "te0002.png"),
     "expected 101x101 pixels, got 20000x20000", f"{TEST}/te0002.png"),
    ("16-bit image", sixteen_bit_image, "expected 8-bit pixels, got 16-bit",
     f"{IMAGES}/tr0000.png"),
    ("colour image", colour, "colour channels differ", f"{IMAGES}/tr0000.png"),
    ("mask values", bad_mask_values, "mask values must be 0 or 65535", f"{MASKS}/tr0003.png"),
    ("image without mask", lambda r: (r / MASKS / "tr0002.png").unlink(),
     "image has no mask", f"{IMAGES}/tr0002.png"),
    ("mask without image", lambda r: (r / IMAGES / "tr0002.png").unlink(),
     "mask has no image", f"{MASKS}/tr0002.png"),
    ("duplicate id train/test", train_test_duplicate, "duplicate id 'te0001'",
     f"{TEST}/te0001.png"),
    ("duplicate id .png/.PNG", duplicate_suffix, "duplicate id 'tr0001'", f"{IMAGES}/tr0001"),
    ("no train images", no_pngs, "no PNG images", IMAGES),
    ("no train folder", lambda r: shutil.rmtree(r / "train"), "folder not found", IMAGES),
    ("test/images a link loop", make_dir_link_loop, "not a folder", TEST),
    ("train.csv a folder", lambda r: to_folder(r / "train.csv"), "a folder, not a file",
     "train.csv"),
    ("depths.csv a folder", lambda r: to_folder(r / "depths.csv"), "a folder, not a file",
     "depths.csv"),
    ("empty train.csv", lambda r: (r / "train.csv").write_bytes(b""),
     "empty file; expected a header id,rle_mask", "train.csv"),
    ("empty depths.csv", lambda r: (r / "depths.csv").write_bytes(b""),
     "empty file; expected a header id,z", "depths.csv"),
    ("train.csv without header",
     lambda r: (r / "train.csv").write_text((r / "train.csv").read_text().split("\n", 1)[1]),
     "no id,rle_mask header", "train.csv"),
    ("train.csv not UTF-8", latin1_train_csv, "not UTF-8 text (byte 0xe9 at line 4, column 7)",
     "train.csv"),
    ("RLE odd count", lambda r: first_rle_line(r, "1 2 3"), "odd number of values", "train.csv"),
    ("RLE nan", lambda r: first_rle_line(r, "nan"), "'nan' is not an RLE", "train.csv"),
    ("RLE non-integer", lambda r: first_rle_line(r, "1 x"), "non-integer value", "train.csv"),
    ("RLE start 0", lambda r: first_rle_line(r, "0 5"), "start < 1", "train.csv"),
    ("RLE overlapping", lambda r: first_rle_line(r, "10 5 12 3"), "unsorted or overlapping",
     "train.csv"),
    ("RLE past the end", lambda r: first_rle_line(r, "10200 10"), "past the image", "train.csv"),
    ("RLE disagrees with mask", rle_disagrees, "disagrees with train/masks/tr0001.png",
     "train.csv"),
    ("train.csv unknown id", lambda r: replace_text(r / "train.csv", "tr0002,", "tr9999,"),
     "id 'tr9999' has no image", "train.csv"),
    ("train.csv duplicate id", lambda r: replace_text(r / "train.csv", "tr0002,", "tr0001,"),
     "duplicate id 'tr0001'", "train.csv"),
    ("depths non-numeric", lambda r: replace_text(r / "depths.csv", "tr0002,114", "tr0002,deep"),
     "non-numeric depth 'deep' for id 'tr0002'", "depths.csv"),
    ("depths infinite", lambda r: replace_text(r / "depths.csv", "tr0002,114", "tr0002,inf"),
     "non-finite depth 'inf' for id 'tr0002'", "depths.csv"),
    ("depths negative", lambda r: replace_text(r / "depths.csv", "tr0002,114", "tr0002,-3"),
     "negative depth '-3' for id 'tr0002'", "depths.csv"),
    ("depths duplicate id", lambda r: replace_text(r / "depths.csv", "tr0002,", "tr0001,"),
     "duplicate id 'tr0001'", "depths.csv"),
    ("depths missing column", lambda r: replace_text(r / "depths.csv", "id,z", "id,depth"),
     "missing column(s) ['z']", "depths.csv"),
]  # fmt: skip


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (links not followed): file hashes, link targets, folders."""
    out = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "saltseg.cli", *args],
        cwd=cwd, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def assert_one_line_error(proc: subprocess.CompletedProcess, names: str, says: str) -> str:
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert names in lines[0] and says in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("case, breaks, says, names", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_check_data_rejects_bad_folders(tmp_path, case, breaks, says, names):
    root = tmp_path / "data"
    make_kaggle_dir(root)
    breaks(root)
    before = tree_digest(root)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = run_cli(cwd, "check-data", str(root))
    assert_one_line_error(proc, str(root / names), says)
    assert tree_digest(root) == before  # the user's data is never modified
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "cwd", "data",
    ]  # fmt: skip


def test_check_data_reads_a_png_bomb_header_first(tmp_path):
    root = tmp_path / "data"
    make_kaggle_dir(root)
    png_bomb(root / TEST / "te0002.png")
    assert (root / TEST / "te0002.png").stat().st_size < 1_000_000
    # VmHWM, the peak of this process's own memory: ru_maxrss would carry over the forking
    # pytest worker's peak through exec.
    probe = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from saltseg.cli import main\n"
        f"rc = main(['check-data', {str(root)!r}])\n"
        "status = Path('/proc/self/status').read_text()\n"
        "print('peak_kb', re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 1 and "got 20000x20000" in proc.stderr
    peak_mb = int(proc.stdout.split("peak_kb")[1]) / 1024
    assert peak_mb < 300, f"peak memory {peak_mb:.0f} MB"


def test_accepted_quirks_come_with_a_note(tmp_path):
    root = tmp_path / "data"
    make_kaggle_dir(root)
    one_bit = tmp_path / "one_bit.png"  # PIL's bool masks are 1-bit grey PNGs
    mask = np.zeros((101, 101), bool)
    mask[:40] = True
    assert cv2.imwrite(str(one_bit), mask.astype(np.uint8) * 255, [cv2.IMWRITE_PNG_BILEVEL, 1])
    assert one_bit.read_bytes()[24] == 1  # the header says 1 bit
    shutil.move(one_bit, root / MASKS / "tr0001.png")
    first_rle_line(root, rle.encode(mask))
    (root / IMAGES / "._tr0001.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    replace_text(root / "depths.csv", "id,z", "id, z")  # padded names and ids still match
    replace_text(root / "depths.csv", "tr0002,114", " tr0002 ,114")
    replace_text(root / "depths.csv", "te0001,", "zz0001,")
    proc = run_cli(tmp_path, "check-data", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 macOS metadata file(s) (._*.png, e.g. ._tr0001.png)" in proc.stderr
    assert "no depth for 1 of 9 tiles (e.g. 'te0001')" in proc.stderr
    assert "1 id(s) match no tile (e.g. 'zz0001')" in proc.stderr
    assert "depth_known" in proc.stdout


ANSWERS = "id,rle_mask\na,\nb,1 5\nc,\n"
SCORE_CASES = [
    ("no header", "a,1 5 20 30 40 50 60 70 80 90 100 110 120 130 140 150 160 170\nb,\nc,\n",
     "sub.csv", "no id,rle_mask header (the first line is 'a,1 5 20 30 40 50 60 70 80 90 100 110 "),
    ("empty file", "", "sub.csv", "empty file; expected a header id,rle_mask"),
    ("nan RLE", "id,rle_mask\na,nan\nb,\nc,\n", "sub.csv", "bad RLE for id 'a': 'nan' is not"),
    ("odd RLE", "id,rle_mask\na,1 2 3\nb,\nc,\n", "sub.csv", "odd number of values (3)"),
    ("missing id", "id,rle_mask\na,\nb,\n", "sub.csv", "1 id(s) missing, e.g. 'c'"),
    ("unexpected id", "id,rle_mask\na,\nb,\nc,\nd,\n", "sub.csv", "1 unexpected id(s), e.g. 'd'"),
    ("duplicate id", "id,rle_mask\na,\na,\nb,\nc,\n", "sub.csv", "duplicate id 'a'"),
    ("wrong columns", "name,mask\na,\n", "sub.csv", "no id,rle_mask header"),
    ("extra column first", "x,id,rle_mask\n1,a,\n", "sub.csv",
     "expected columns id,rle_mask first"),
]  # fmt: skip


@pytest.mark.parametrize("case, body, names, says", SCORE_CASES, ids=[c[0] for c in SCORE_CASES])
def test_score_rejects_bad_submissions_in_one_line(tmp_path, case, body, names, says):
    (tmp_path / "ans.csv").write_text(ANSWERS)
    (tmp_path / "sub.csv").write_text(body)
    proc = run_cli(tmp_path, "score", "sub.csv", "ans.csv")
    line = assert_one_line_error(proc, names, says)
    assert len(line) < 200  # no RLE row dumped into the message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ans.csv", "sub.csv"]


def test_score_names_a_bad_answers_file(tmp_path):
    (tmp_path / "ans.csv").write_text("id,rle_mask\na,0 3\n")
    (tmp_path / "sub.csv").write_text("id,rle_mask\na,\n")
    proc = run_cli(tmp_path, "score", "sub.csv", "ans.csv")
    assert_one_line_error(proc, "ans.csv", "bad RLE for id 'a': RLE start < 1")


SNAKEMAKE_CASES = [DATA_CASES[i] for i in (1, 5, 19)]  # zero-byte PNG, PNG bomb, empty depths


@pytest.mark.parametrize(
    "case, breaks, says, names", SNAKEMAKE_CASES, ids=[c[0] for c in SNAKEMAKE_CASES]
)
def test_prepare_data_rejects_bad_folders_through_snakemake(tmp_path, case, breaks, says, names):
    root = tmp_path / "data"
    make_kaggle_dir(root)
    breaks(root)
    before = tree_digest(root)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(run),
           "--cores", "1", "--configfile", str(REPO / "config" / "test.yaml"),
           "--config", f"data={{'source': '{root}'}}",
           "--", "results/data/tiles.parquet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    expected = f"saltseg prepare_data: error: {root / names}: {says}"
    assert expected in proc.stdout + proc.stderr
    assert not (run / "results" / "data").exists()
    log = (run / "results" / "logs" / "prepare_data.log").read_text().strip().splitlines()
    assert f"{root / names}: {says}" in log[-1]  # the log ends with the error
    assert tree_digest(root) == before


@pytest.mark.parametrize("command", ["mosaic", "split"])
def test_other_commands_reading_a_folder_reject_it_alike(tmp_path, command):
    root = tmp_path / "data"
    make_kaggle_dir(root)
    (root / "train.csv").write_bytes(b"")
    before = tree_digest(root)
    out = tmp_path / ("out.parquet" if command == "mosaic" else "split")
    proc = run_cli(tmp_path, command, str(root), str(out))
    assert_one_line_error(proc, str(root / "train.csv"), "empty file; expected a header")
    assert tree_digest(root) == before and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_mosaic_picture_of_an_unknown_kind_is_refused_before_anything_is_written(tmp_path):
    root = tmp_path / "data"
    make_kaggle_dir(root)
    out = tmp_path / "out.parquet"
    proc = run_cli(tmp_path, "mosaic", str(root), str(out), "--picture", "m.gif")
    assert_one_line_error(proc, "m.gif", "a picture ends in one of .jpeg, .jpg, .png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_mosaic_picture_without_mosaics_is_refused_before_anything_is_written(tmp_path):
    root = tmp_path / "data"
    make_kaggle_dir(root)  # random tiles: no two fit
    proc = run_cli(tmp_path, "mosaic", str(root), "out.parquet", "--picture", "m.png")
    assert_one_line_error(proc, str(root), "no mosaics to draw into m.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
