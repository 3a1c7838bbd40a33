"""SEG-Y lines with segyio: a 2-D line, or one inline or crossline of a 3-D volume, as a
(samples, traces) array; and a SEG-Y of a result on the same traces, with their headers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import segyio

from saltseg.errors import SaltsegError
from saltseg.io.atomic import atomic_path


@dataclass(frozen=True)
class SeismicLine:
    """One line: samples are rows, traces columns."""

    values: np.ndarray  # float32 (samples, traces)
    traces: np.ndarray  # int (traces,): the trace numbers in the source file
    source: str
    what: str  # "2-D line", "inline 12", "crossline 7"


def _open(path: Path) -> segyio.SegyFile:
    if not path.is_file():
        raise SaltsegError(f"{path}: file not found")
    try:
        return segyio.open(path, "r", strict=False)
    except (OSError, RuntimeError, ValueError, IndexError) as exc:
        raise SaltsegError(f"{path}: not a readable SEG-Y file ({exc})") from None


def _line_traces(
    f: segyio.SegyFile, path: Path, inline: int | None, crossline: int | None
) -> tuple[np.ndarray, str]:
    """Trace numbers of the chosen line, in crossline (or inline) order, and its name."""
    if inline is not None and crossline is not None:
        raise SaltsegError(f"{path}: choose --inline or --crossline, not both")
    if f.unstructured:
        if inline is not None or crossline is not None:
            raise SaltsegError(f"{path}: a 2-D line (no inline/crossline geometry); leave out "
                               "--inline/--crossline")  # fmt: skip
        return np.arange(f.tracecount), "2-D line"
    if len(f.offsets) > 1:
        raise SaltsegError(f"{path}: pre-stack data ({len(f.offsets)} offsets); expected stacked")
    ilines, xlines = np.asarray(f.ilines), np.asarray(f.xlines)
    if inline is None and crossline is None:
        if len(ilines) == 1:
            inline = int(ilines[0])
        elif len(xlines) == 1:
            crossline = int(xlines[0])
        else:
            raise SaltsegError(
                f"{path}: a 3-D volume ({len(ilines)} inlines x {len(xlines)} crosslines); "
                "choose one line with --inline N or --crossline N"
            )
    il = f.attributes(segyio.TraceField.INLINE_3D)[:]
    xl = f.attributes(segyio.TraceField.CROSSLINE_3D)[:]
    if inline is not None:
        if inline not in ilines:
            raise SaltsegError(
                f"{path}: no inline {inline} (inlines {ilines.min()}..{ilines.max()})"
            )
        traces = np.flatnonzero(il == inline)
        return traces[np.argsort(xl[traces], kind="stable")], f"inline {inline}"
    if crossline not in xlines:
        raise SaltsegError(
            f"{path}: no crossline {crossline} (crosslines {xlines.min()}..{xlines.max()})"
        )
    traces = np.flatnonzero(xl == crossline)
    return traces[np.argsort(il[traces], kind="stable")], f"crossline {crossline}"


def read_segy_line(
    path: str | os.PathLike, inline: int | None = None, crossline: int | None = None
) -> SeismicLine:
    """The 2-D line of ``path``, or its ``inline`` / ``crossline`` when it is a 3-D volume (a
    volume of one inline or crossline is read as that line)."""
    path = Path(path)
    with _open(path) as f:
        traces, what = _line_traces(f, path, inline, crossline)
        try:
            values = np.stack([f.trace[int(t)] for t in traces], axis=1).astype(np.float32)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SaltsegError(f"{path}: unreadable traces ({exc})") from None
    if not np.isfinite(values).all():
        raise SaltsegError(f"{path}: {what} holds NaN or infinite amplitudes")
    return SeismicLine(values, traces, str(path), what)


def write_segy_like(line: SeismicLine, data: np.ndarray, out: str | os.PathLike) -> None:
    """Write ``data`` (samples, traces), one trace per trace of ``line``, as IEEE-float SEG-Y with
    the source's textual and binary headers and each trace's own header."""
    data = np.asarray(data, np.float32)
    if data.shape != line.values.shape:
        raise ValueError(f"data {data.shape} does not fit the line {line.values.shape}")
    with _open(Path(line.source)) as src, atomic_path(out) as tmp:
        spec = segyio.spec()
        spec.samples = src.samples
        spec.format = 5  # IEEE float
        spec.tracecount = len(line.traces)
        spec.iline, spec.xline = segyio.TraceField.INLINE_3D, segyio.TraceField.CROSSLINE_3D
        with segyio.create(tmp, spec) as dst:
            dst.text[0] = src.text[0]
            dst.bin = src.bin
            dst.bin.update({segyio.BinField.Format: 5})
            for k, trace in enumerate(line.traces):
                dst.header[k] = src.header[int(trace)]
                dst.trace[k] = np.ascontiguousarray(data[:, k])


def write_segy_line(
    values: np.ndarray, out: str | os.PathLike, sample_interval_us: int = 4000
) -> None:
    """A new 2-D line SEG-Y of ``values`` (samples, traces): IEEE floats, trace numbers and CDPs
    1.. in the trace headers, no inline/crossline geometry."""
    values = np.asarray(values, np.float32)
    n_samples, n_traces = values.shape
    spec = segyio.spec()
    spec.samples = np.arange(n_samples) * (sample_interval_us / 1000.0)
    spec.format = 5
    spec.tracecount = n_traces
    spec.iline, spec.xline = segyio.TraceField.INLINE_3D, segyio.TraceField.CROSSLINE_3D
    with atomic_path(out) as tmp, segyio.create(tmp, spec) as f:
        f.bin.update(
            {
                segyio.BinField.Samples: n_samples,
                segyio.BinField.Interval: sample_interval_us,
                segyio.BinField.Format: 5,
            }
        )
        for k in range(n_traces):
            f.header[k] = {
                segyio.TraceField.TRACE_SEQUENCE_LINE: k + 1,
                segyio.TraceField.CDP: k + 1,
                segyio.TraceField.TRACE_SAMPLE_COUNT: n_samples,
                segyio.TraceField.TRACE_SAMPLE_INTERVAL: sample_interval_us,
            }
            f.trace[k] = np.ascontiguousarray(values[:, k])
