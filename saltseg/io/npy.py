"""A user's .npy file: read without pickles, any problem one line naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from saltseg.errors import SaltsegError


def read_npy(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise SaltsegError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SaltsegError(f"{path}: unreadable .npy ({exc})") from None
