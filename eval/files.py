"""Whole-or-nothing file writes: write to a temporary name in the same folder, then rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def publish(staging: Path, destination: Path) -> None:
    """Move every entry of ``staging`` into ``destination`` (each by one rename), then remove ``staging``.

    Both must be on the same filesystem; an entry already in ``destination`` is replaced.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for entry in sorted(staging.iterdir()):
        target = destination / entry.name
        if target.is_dir() and not target.is_symlink():
            retired = Path(tempfile.mkdtemp(dir=destination, prefix=f".{entry.name}.old."))
            os.replace(target, retired / entry.name)
            os.replace(entry, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(entry, target)
    shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging folder beside ``out`` to write into; published into ``out`` when the block ends normally
    (``publish``), removed either way, so a failed or interrupted write leaves nothing half-written in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
    try:
        yield staging
        publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
