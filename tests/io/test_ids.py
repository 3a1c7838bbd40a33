"""Rows by tile id."""

from __future__ import annotations

import numpy as np
import pytest

from saltseg.errors import SaltsegError
from saltseg.io.ids import id_rows, take


def test_id_rows_finds_each_wanted_id_and_lists_the_missing() -> None:
    rows, missing = id_rows(np.array(["a", "b", "c"]), ["c", "a"])
    assert rows.tolist() == [2, 0] and missing == []
    rows, missing = id_rows(["a", "b"], np.array(["b", "x", "y"]))
    assert rows.tolist() == [1] and missing == ["x", "y"]


def test_take_reorders_values_and_names_the_source_of_a_missing_id() -> None:
    values = np.arange(3) * 10
    assert take("p.npz", ["a", "b", "c"], values, ["b", "c", "a"]).tolist() == [10, 20, 0]
    with pytest.raises(SaltsegError, match=r"^masks\.npz: 1 id\(s\) missing, e.g. 'z'$"):
        take("masks.npz", ["a", "b"], values[:2], ["a", "z"])
