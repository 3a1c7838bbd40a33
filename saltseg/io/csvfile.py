"""Reading the small ``id,...`` CSV files users give (train.csv, depths.csv, submissions,
answers): every problem becomes one line naming the file, the line and what was expected."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from saltseg.errors import SaltsegError


def _shown(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


def bad_byte(data: bytes) -> str:
    """Where the first byte that is not UTF-8 is: the byte, its line and column."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return f"byte 0x{data[exc.start]:02x} at line {line}, column {column}"
    return "no bad byte"


def read_id_csv(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """The CSV at ``path`` as text columns, with ``columns`` present and every id once."""
    path = Path(path)
    expected = ",".join(columns)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise SaltsegError(f"{path}: empty file; expected a header {expected}") from None
    except UnicodeDecodeError:
        raise SaltsegError(f"{path}: not UTF-8 text ({bad_byte(path.read_bytes())})") from None
    except (OSError, pd.errors.ParserError) as exc:
        raise SaltsegError(f"{path}: unreadable CSV ({str(exc).splitlines()[0]})") from None
    # Padded files ("id, z", " tr0002 ") are common; ids and column names never carry spaces.
    df.columns = [str(c).strip() for c in df.columns]
    if "id" in df.columns:
        df["id"] = df["id"].str.strip()
    missing = [c for c in columns if c not in df.columns]
    if missing and len(missing) == len(columns):
        first = ",".join(map(str, df.columns))
        raise SaltsegError(f"{path}: no {expected} header (the first line is {_shown(first)})")
    if missing:
        raise SaltsegError(f"{path}: missing column(s) {missing}; expected {expected}")
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise SaltsegError(f"{path}: duplicate id {_shown(dup.iloc[0])}")
    return df
