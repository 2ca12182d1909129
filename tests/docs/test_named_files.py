"""Every file the README or the Makefile names exists in a fresh clone: tracked by git, not hidden by
``.gitignore`` (a ``sweeps/`` pattern once hid ``configs/sweeps/demo.yaml``, which both name)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(
    r"\b(?:configs|benchmarks|envs|baselines|train|eval|tests|examples|docs)/[\w./-]+\.(?:py|ya?ml|md|json|npz)\b"
)


def named_files() -> list[str]:
    return sorted({path for name in ("README.md", "Makefile") for path in NAMED.findall((ROOT / name).read_text())})


def test_the_readme_names_files():
    assert "configs/sweeps/demo.yaml" in named_files()


@pytest.mark.parametrize("path", named_files())
def test_a_named_file_is_in_the_clone(path):
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True, text=True)
    ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0
    assert (ROOT / path).is_file(), f"{path} is named but missing"
    assert not ignored, f"{path} is named but .gitignore hides it (git check-ignore -v {path})"
    assert tracked.returncode == 0, f"{path} is named but not committed"
