"""Results apart from prose: ``benchmarks/record.py`` writes a script's output stamped with its command and commit,
``make results`` regenerates every results file the docs include, and the docs include them rather than retype."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "benchmarks" / "record.py"
INCLUDE = re.compile(r'--8<-- "benchmarks/results/([\w-]+)\.md"')


def record(tmp_path, name, script_text, *args):
    script = tmp_path / "bench.py"
    script.write_text(script_text)
    out = tmp_path / "results"
    out.mkdir(exist_ok=True)
    run = subprocess.run(
        [sys.executable, str(RECORD), "--out", str(out), name, str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return run, out / f"{name}.md"


def test_plain_output_is_recorded_in_a_code_block_with_its_command_and_commit(tmp_path):
    run, written = record(tmp_path, "speed", "import sys\nprint('rate 12.5 M env-steps/s', sys.argv[1:])\n", "--n", "3")
    assert run.returncode == 0, run.stderr
    assert "rate 12.5 M env-steps/s" in run.stdout  # shown as it runs
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    text = written.read_text()
    assert text.startswith(f"`python {tmp_path / 'bench.py'} --n 3` at commit {commit.stdout.strip()}")
    assert "```\nrate 12.5 M env-steps/s ['--n', '3']\n```" in text


def test_a_markdown_table_is_recorded_as_is(tmp_path):
    run, written = record(tmp_path, "table", "print('| a | b |')\nprint('|---|---|')\nprint('| 1 | 2 |')\n")
    assert run.returncode == 0, run.stderr
    assert written.read_text().endswith("Output as printed:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")


def test_a_failing_script_passes_its_code_on_and_leaves_the_file(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "broken.md").write_text("the last good output\n")
    run, written = record(tmp_path, "broken", "print('half')\nraise SystemExit(3)\n")
    assert run.returncode == 3
    assert "exited with code 3; broken.md not written" in run.stderr
    assert written.read_text() == "the last good output\n"


@pytest.mark.parametrize(
    ("name", "message"), [("Bad Name", "NAME must be lower-case"), ("ok", "is not a Python script")]
)
def test_bad_input_is_named(tmp_path, name, message):
    out = tmp_path / "results"
    out.mkdir()
    run = subprocess.run(
        [sys.executable, str(RECORD), "--out", str(out), name, "benchmarks/nowhere.py"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and message in run.stderr


def included_results() -> set[str]:
    return {name for page in (ROOT / "docs").glob("*.md") for name in INCLUDE.findall(page.read_text())}


def test_make_results_regenerates_every_results_file_the_docs_include():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    plan = subprocess.run(["make", "-n", "results"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    recorded = set(re.findall(r"benchmarks/record\.py (\S+) ", plan.stdout))
    if "benchmarks/recipe_robustness.py" in plan.stdout:
        recorded.add("recipe_robustness")  # the script writes its own results file
    assert {"dealer", "train_quality_dealer", "recipe_robustness"} <= included_results()
    assert included_results() <= recorded, f"included but not regenerated: {included_results() - recorded}"
