"""The docs tests' one way of building the site: ``mkdocs build --strict`` of a checkout, the way ``make docs`` does."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def build(root: Path, out: Path) -> Path:
    """Build ``root``'s site into ``out`` with ``--strict``, importing ``root``'s code; fails the test on any warning."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed in {root}:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.fixture(scope="session")
def build_site() -> Callable[[Path, Path], Path]:
    return build
