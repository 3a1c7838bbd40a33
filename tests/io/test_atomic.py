import os
import subprocess
import sys

import pytest

from saltseg.io import atomic
from saltseg.io.atomic import atomic_dir, atomic_path, remove_leftovers


def test_atomic_path_leaves_nothing_on_failure_and_usual_permissions(tmp_path):
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


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_leftovers_go_at_the_next_write(tmp_path):
    target = tmp_path / "out.csv"
    host = atomic._HOST
    killed = tmp_path / f".out.csv.pid{dead_pid()}.{host}.x1y2.csv"  # what kill -9 leaves
    killed.write_text("half")
    killed_dir = tmp_path / f".out.csv.pid{dead_pid()}.{host}.z9.tmp"
    killed_dir.mkdir()
    running = tmp_path / f".out.csv.pid{os.getppid()}.{host}.a1.csv"  # a live writer's: kept
    running.write_text("busy")
    elsewhere = tmp_path / f".out.csv.pid{dead_pid()}.othernode.c3.csv"  # another host's: kept
    elsewhere.write_text("busy")
    other = tmp_path / f".other.csv.pid{dead_pid()}.{host}.b2.csv"  # another output's: kept
    other.write_text("x")
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(f".out.csv.pid{os.getpid()}.{host}.")
        tmp.write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [running.name, elsewhere.name, other.name, "out.csv"]
    )
    assert remove_leftovers(tmp_path / "other.csv") == [other]


def test_atomic_dir_replaces_the_folder_only_when_done(tmp_path):
    out = tmp_path / "folder"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("a")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "b.txt").write_text("b")
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]
    assert [p.name for p in out.iterdir()] == ["a.txt"]
