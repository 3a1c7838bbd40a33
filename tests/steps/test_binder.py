"""Running a step: logging to the rule's log, one-line errors, binding a rule's names."""

import logging
from types import SimpleNamespace

import pytest
from snakemake.iocontainers import Namedlist

from saltseg.errors import SaltsegError
from saltseg.steps import bind, run_rule, run_step


def fails():
    raise SaltsegError("data/x.png: unreadable PNG")


def crashes():
    raise KeyError("surprise")


def works(value):
    logging.getLogger("saltseg.test").info("working on %s", value)
    return value * 2


def test_error_is_one_line_on_the_console_and_in_the_log(tmp_path, capsys):
    log = tmp_path / "logs" / "job.log"
    with pytest.raises(SystemExit) as info:
        run_step(log, fails)
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == "saltseg fails: error: data/x.png: unreadable PNG"
    assert "data/x.png: unreadable PNG" in log.read_text()


def test_unexpected_errors_leave_their_traceback_in_the_log(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(KeyError):
        run_step(log, crashes)
    text = log.read_text()
    assert "crashes failed" in text and "Traceback" in text and "surprise" in text


def test_result_and_logging_go_to_the_log(tmp_path):
    log = tmp_path / "job.log"
    assert run_step(log, works, value=21) == 42
    text = log.read_text()
    assert "working on 21" in text and "works done in" in text


def named(**items) -> Namedlist:
    return Namedlist(fromdict=items)


def fake_rule(**parts) -> SimpleNamespace:
    empty = {k: named() for k in ("input", "output", "params", "wildcards")}
    return SimpleNamespace(rule="r", threads=3, log=[], **{**empty, **parts})


def step(tiles: str, fold: int, checkpoint: str, spec: dict, threads: int, init: str | None = None):
    return tiles, fold, checkpoint, spec, threads, init


def test_bind_looks_up_every_parameter_by_name():
    smk = fake_rule(
        input=named(tiles="t.parquet", tile_images="i.npy"),
        output=named(checkpoint="m.pt"),
        params=named(spec={"a": 1}),
        wildcards=named(fold="2", stage="stage1", model="a"),
    )
    kwargs = bind(step, smk)
    # the wildcard becomes an int, the optional input stays at its default, extras are unused
    assert kwargs == {
        "tiles": "t.parquet",
        "fold": 2,
        "checkpoint": "m.pt",
        "spec": {"a": 1},
        "threads": 3,
    }
    assert run_rule(smk, step) == ("t.parquet", 2, "m.pt", {"a": 1}, 3, None)


def test_bind_names_what_is_missing_or_ambiguous():
    with pytest.raises(TypeError, match="rule r: nothing named 'tiles' for step"):
        bind(step, fake_rule())
    smk = fake_rule(input=named(tiles="t.parquet"), wildcards=named(tiles="x", fold="1"))
    with pytest.raises(TypeError, match="'tiles' is ambiguous \\(input and wildcards\\)"):
        bind(step, smk)
