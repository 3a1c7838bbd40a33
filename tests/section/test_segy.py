"""SEG-Y lines: 2-D lines, inlines and crosslines of a 3-D volume, headers carried over, errors."""

import numpy as np
import pytest
import segyio

from saltseg.errors import SaltsegError
from saltseg.section.segy import read_segy_line, write_segy_like, write_segy_line

INLINES, XLINES, SAMPLES = [10, 11, 12], [100, 101, 102, 103], 50


def volume(path):
    """A 3-D volume whose amplitude encodes (inline, crossline, sample)."""
    spec = segyio.spec()
    spec.ilines, spec.xlines, spec.samples = INLINES, XLINES, np.arange(SAMPLES) * 4.0
    spec.sorting, spec.format = segyio.TraceSortingFormat.INLINE_SORTING, 5
    with segyio.create(path, spec) as f:
        k = 0
        for il in INLINES:
            for xl in XLINES:
                f.header[k] = {segyio.TraceField.INLINE_3D: il, segyio.TraceField.CROSSLINE_3D: xl,
                               segyio.TraceField.CDP_X: 1000 * il + xl}  # fmt: skip
                f.trace[k] = (il * 1000 + xl + np.arange(SAMPLES) / 100).astype(np.float32)
                k += 1
    return path


def test_a_2d_line_round_trips_with_its_headers(tmp_path):
    values = np.random.default_rng(0).normal(0, 500, (120, 230)).astype(np.float32)
    write_segy_line(values, tmp_path / "line.sgy", sample_interval_us=2000)
    line = read_segy_line(tmp_path / "line.sgy")
    assert line.what == "2-D line" and line.values.shape == (120, 230)
    np.testing.assert_array_equal(line.values, values)
    mask = values > 0
    write_segy_like(line, mask.astype(np.float32), tmp_path / "mask.sgy")
    with (
        segyio.open(tmp_path / "mask.sgy", ignore_geometry=True) as f,
        segyio.open(tmp_path / "line.sgy", ignore_geometry=True) as src,
    ):
        assert f.tracecount == 230 and list(f.samples) == list(src.samples)
        assert f.bin[segyio.BinField.Interval] == 2000
        for k in (0, 117, 229):
            assert f.header[k][segyio.TraceField.CDP] == k + 1
        np.testing.assert_array_equal(f.trace.raw[:].T, mask.astype(np.float32))


@pytest.mark.parametrize(
    ("inline", "crossline", "what", "shape"),
    [(11, None, "inline 11", (SAMPLES, 4)), (None, 102, "crossline 102", (SAMPLES, 3))],
)
def test_one_line_of_a_3d_volume(tmp_path, inline, crossline, what, shape):
    line = read_segy_line(volume(tmp_path / "v.sgy"), inline, crossline)
    assert line.what == what and line.values.shape == shape
    first = line.values[0]  # sample 0 of every trace: il * 1000 + xl
    want = [11_000 + x for x in XLINES] if inline else [il * 1000 + 102 for il in INLINES]
    np.testing.assert_allclose(first, want)
    write_segy_like(line, np.ones(shape, np.float32), tmp_path / "out.sgy")
    with segyio.open(tmp_path / "out.sgy", ignore_geometry=True) as f:
        cdp_x = f.attributes(segyio.TraceField.CDP_X)[:]
    want_x = [11_000 + x for x in XLINES] if inline else [il * 1000 + 102 for il in INLINES]
    assert cdp_x.tolist() == want_x  # each trace kept its own header


def test_errors_name_the_file_and_the_problem(tmp_path):
    v = volume(tmp_path / "v.sgy")
    with pytest.raises(SaltsegError, match=r"v.sgy: a 3-D volume \(3 inlines x 4 crosslines\); "
                       "choose one line with --inline N"):  # fmt: skip
        read_segy_line(v)
    with pytest.raises(SaltsegError, match=r"v.sgy: no inline 13 \(inlines 10..12\)"):
        read_segy_line(v, inline=13)
    with pytest.raises(SaltsegError, match=r"no crossline 99 \(crosslines 100..103\)"):
        read_segy_line(v, crossline=99)
    with pytest.raises(SaltsegError, match="not both"):
        read_segy_line(v, 10, 100)
    write_segy_line(np.zeros((20, 5)), tmp_path / "line.sgy")
    with pytest.raises(SaltsegError, match="line.sgy: a 2-D line"):
        read_segy_line(tmp_path / "line.sgy", inline=1)
    junk = tmp_path / "junk.sgy"
    junk.write_bytes(b"not a seg-y file" * 10)
    with pytest.raises(SaltsegError, match="junk.sgy: not a readable SEG-Y file"):
        read_segy_line(junk)
    with pytest.raises(SaltsegError, match="missing.sgy: file not found"):
        read_segy_line(tmp_path / "missing.sgy")
