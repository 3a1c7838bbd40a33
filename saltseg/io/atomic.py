"""Write files so that a failure never leaves a half-written output behind.

Outputs are written under a temporary name next to the real one, flushed to disk, then renamed
into place. The temporary name carries the writer's process id, so a writer killed outright
(kill -9, power cut) leaves a leftover that the next write of the same output recognises (its
process is gone) and removes.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_HOST = socket.gethostname().split(".")[0] or "host"  # no dots: it sits in a dotted name


def _prefix(path: Path) -> str:
    # The host too: on a shared file system a writer on another node is not ours to judge.
    return f".{path.name}.pid{os.getpid()}.{_HOST}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_leftovers(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files and folders of earlier writes of ``path`` whose writer
    process no longer exists; returns what was removed."""
    path = Path(path)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in path.parent.glob(f".{glob.escape(path.name)}.pid*.*"):
            pid, _, rest = entry.name[len(path.name) + 5 :].partition(".")
            if not rest.startswith(f"{_HOST}."):
                continue  # another host's writer
            if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk, so that a rename after it never
    exposes an empty file after a power cut."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. folders on platforms that cannot open them
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only if the block succeeds.

    The temporary name keeps the final suffix so libraries that infer the format from it
    (numpy, matplotlib, cv2) behave the same.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(
        prefix=_prefix(path),
        suffix=suffix if suffix is not None else path.suffix,
        dir=path.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates the file readable by its owner only; give it the usual permissions.
        os.chmod(tmp_path, 0o666 & ~_umask())
        _fsync(tmp_path)
        os.replace(tmp_path, path)
        _fsync(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        for entry in tmp.rglob("*"):
            if entry.is_file():
                _fsync(entry)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: str | os.PathLike, obj: dict, sort_keys: bool = True) -> None:
    """``obj`` as indented JSON (numpy scalars as numbers), written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=sort_keys, default=float) + "\n")
