"""The newcomer's test: a fresh clone of the committed HEAD has what the README promises. Every file the front page,
the docs, the Makefile, ``mkdocs.yml`` or the examples name is in it, ``make demo`` and ``make test`` parse, and the
documentation site builds strictly from it. The full ``make demo`` (minutes of training) stays outside the suite."""

import shutil
import subprocess
from pathlib import Path

import pytest
from test_named_files import named_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    "01_env_and_baseline.py",
    "02_train_and_compare.py",
    "03_bring_your_own_world.py",
    "04_evaluate_a_policy_trained_elsewhere.py",
    "05_informed_flow.py",
]


def git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip(f"{ROOT} is not a git checkout")
    head = git("rev-parse", "HEAD").stdout.strip()
    target = tmp_path_factory.mktemp("fresh") / "mm-inventory"
    cloned = git("clone", "--quiet", "--no-checkout", str(ROOT), str(target))
    assert cloned.returncode == 0, cloned.stderr
    checkout = git("checkout", "--quiet", head, cwd=target)
    assert checkout.returncode == 0, checkout.stderr
    return target


def test_the_clone_has_every_named_file(clone):
    named = named_files(clone)
    assert "configs/sweeps/demo.yaml" in named
    missing = [path for path in named if not (clone / path).is_file()]
    assert not missing, f"named by the README, docs, Makefile, mkdocs.yml or examples but not committed: {missing}"


def test_the_clone_has_the_site_config_and_the_examples(clone):
    assert (clone / "mkdocs.yml").is_file() and (clone / "docs" / "hooks.py").is_file()
    assert sorted(path.name for path in (clone / "examples").glob("*.py")) == EXAMPLES


@pytest.mark.parametrize("target", ["demo", "test", "docs", "results"])
def test_the_readmes_make_targets_parse_in_the_clone(clone, target):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    plan = subprocess.run(["make", "-n", target], cwd=clone, capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, f"make -n {target} failed in a fresh clone:\n{plan.stderr}"
    assert "pip install" in plan.stdout  # the target sets itself up from a clean clone


def test_the_docs_build_strictly_from_the_clone(clone, tmp_path, build_site):
    assert (build_site(clone, tmp_path / "site") / "index.html").is_file()
