import pytest

from saltseg.errors import SaltsegError
from saltseg.runner import run_job


def fails():
    raise SaltsegError("data/x.png: unreadable PNG")


def works(value):
    import logging

    logging.getLogger("saltseg.test").info("working on %s", value)
    return value * 2


def test_error_is_one_line_on_the_console_and_in_the_log(tmp_path, capsys):
    log = tmp_path / "logs" / "job.log"
    with pytest.raises(SystemExit) as info:
        run_job(log, fails)
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == "saltseg fails: error: data/x.png: unreadable PNG"
    assert "data/x.png: unreadable PNG" in log.read_text()


def test_result_and_logging_go_to_the_log(tmp_path):
    log = tmp_path / "job.log"
    assert run_job(log, works, value=21) == 42
    text = log.read_text()
    assert "working on 21" in text and "works done in" in text


def test_atomic_path_leaves_nothing_on_failure_and_usual_permissions(tmp_path):
    import os

    from saltseg.atomic import atomic_path

    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
