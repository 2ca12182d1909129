"""Every file the README, the pages under ``docs/``, the Makefile, ``mkdocs.yml`` or the examples name exists in a fresh clone: tracked by git,
not hidden by ``.gitignore`` (a ``sweeps/`` pattern once hid ``configs/sweeps/demo.yaml``, which they name)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(
    r"\b(?:configs|benchmarks|envs|baselines|train|eval|tests|examples|docs)/[\w./-]+\.(?:py|ya?ml|md|json|npz)\b"
)


def pages(root: Path = ROOT) -> list[Path]:
    """The files that name others: the front page, the docs, the Makefile, the site's config and the examples."""
    top = [root / "README.md", root / "Makefile", root / "mkdocs.yml"]
    return top + sorted((root / "docs").rglob("*.md")) + sorted((root / "examples").glob("*.py"))


def named_files(root: Path = ROOT) -> list[str]:
    return sorted({path for page in pages(root) for path in NAMED.findall(page.read_text())})


def test_the_readme_names_files():
    named = set(named_files())
    assert {"configs/sweeps/demo.yaml", "docs/results.md", "docs/environment.md", "docs/hooks.py"} <= named
    assert "examples/01_env_and_baseline.py" in named


@pytest.mark.parametrize("path", named_files())
def test_a_named_file_is_in_the_clone(path):
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True, text=True)
    ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0
    assert (ROOT / path).is_file(), f"{path} is named but missing"
    assert not ignored, f"{path} is named but .gitignore hides it (git check-ignore -v {path})"
    assert tracked.returncode == 0, f"{path} is named but not committed"
