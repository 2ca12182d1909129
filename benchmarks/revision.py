"""An earlier revision's tree beside this checkout, for the scripts that measure the two in turns
(``core_vs_revision.py``, ``market_equivalence.py``)."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def exported(revision: str) -> Iterator[Path]:
    """``revision``'s tree (``git archive``) in a temporary folder, removed on exit."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        yield Path(folder)


def head() -> str:
    """This checkout's commit, short."""
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()
