"""The README's results table is generated: ``benchmarks/results_table.py`` writes it from the training-quality
results files, so a retyped or stale table fails here, and a malformed results file is named with its line."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "results_table.py"
HEADER = "| config | seeds | optimality score: mean | worst seed | learned − baseline per episode |"
SEPARATOR = "|---|---:|---:|---:|---|"


def load_script():
    spec = importlib.util.spec_from_file_location("results_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


results_table = load_script()


def results_file(folder: Path, *lines: str, name: str = "train_quality.md") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def configs(folder: Path, *names: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / f"{name}.yaml").write_text(f"experiment: {name}\n")
    return folder


def test_the_readmes_table_is_the_one_the_results_files_give():
    readme = (ROOT / "README.md").read_text()
    assert results_table.current_block(readme) == results_table.table(), (
        "README.md's results table differs from benchmarks/results/train_quality*.md: run `make results-table` "
        "(never edit the table by hand)"
    )
    assert len(readme.encode()) < 12 * 1024


def test_every_shipped_config_has_a_row_and_each_figure_names_its_commit():
    text = results_table.table()
    shipped = results_table.shipped_configs()
    assert {"default", "toxic", "regimes", "demo", "hedged", "two_assets", "dealer", "as2008"} <= set(shipped)
    for config in shipped:
        assert text.count(f"| `{config}` |") == 1
    assert "| `toxic` | 0.997 | **0.996** | A–S +6.95, calibrated linear skew +1.14 | a3665ab |" in text
    assert "- `as2008`: its optimality score is undefined" in text


def test_a_row_is_read_with_the_commit_of_the_stamp_above_its_table(tmp_path):
    path = results_file(
        tmp_path / "results",
        "`python benchmarks/train_quality.py --configs a b` at commit abc1234, 2026-12-03. Output as printed:",
        "",
        HEADER,
        SEPARATOR,
        "| a | 3 | 0.990 | 0.980 | closed_form +0.1 |",
        "",
        "A later run, at commit def5678:",
        "",
        HEADER,
        SEPARATOR,
        "| b (2M steps) | 3 | — | — (no optimum: see the gaps) | closed_form +2.5 |",
    )
    a, b = results_table.read_results(path)
    assert (a.config, a.mean, a.worst, a.gaps, a.commit, a.line) == (
        "a",
        "0.990",
        "0.980",
        "closed_form +0.1",
        "abc1234",
        5,
    )
    assert (b.config, b.mean, b.worst, b.commit, b.why) == ("b", "—", "—", "def5678", ("no optimum: see the gaps",))


def test_a_config_without_a_row_is_shown_with_a_dash_and_a_note(tmp_path):
    results_file(tmp_path / "results", "at commit abc1234", "", HEADER, SEPARATOR, "| a | 3 | 0.99 | 0.98 | — |")
    text = results_table.table(tmp_path / "results", configs(tmp_path / "configs", "a", "z"))
    assert "| `a` | 0.99 | **0.98** | — | abc1234 | `train_quality.md` |" in text
    assert "| `z` | — | — | — | — | — |" in text and "- `z`: no row in benchmarks/results/train_quality*.md." in text


def test_a_sim_to_real_capture_gets_a_row_after_the_configs(tmp_path):
    folder = tmp_path / "results"
    results_file(folder, "at commit abc1234", "", HEADER, SEPARATOR, "| a | 3 | 0.99 | 0.98 | — |")
    header = "| config | seeds | optimality score: mean | worst seed | learned − glft |"
    row = "| sim_to_real_eth | 3 | 0.612 | 0.401 | +1.25 |"
    details = ["", "| policy | score sim |", "|---|---:|", "| symmetric | 0.000 |"]  # read by people only
    results_file(
        folder, "at commit def5678", "", header, "|---|---:|---:|---:|---:|", row, *details, name="sim_to_real.md"
    )
    text = results_table.table(folder, configs(tmp_path / "configs", "a"))
    lines = text.splitlines()
    expected = "| `sim_to_real_eth` | 0.612 | **0.401** | glft +1.25 | def5678 | `sim_to_real.md` |"
    assert lines.index(expected) > lines.index("| `a` | 0.99 | **0.98** | — | abc1234 | `train_quality.md` |")
    assert "- `sim_to_real_eth`: the learned policy trained on the market calibrated" in text


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (["at commit abc1234", "", HEADER, SEPARATOR, "| a | 3 | 0.99 | 0.98 |"], 5, "4 cells where the header has 5"),
        (["at commit abc1234", "", HEADER, "| a | 3 | 0.99 | 0.98 | — |"], 4, "must be its separator"),
        (["at commit abc1234", "", HEADER, SEPARATOR, "| a | 3 | 0.99 | 0.98 | —"], 5, "must start and end with '|'"),
        (["no stamp", "", HEADER, SEPARATOR, "| a | 3 | 0.99 | 0.98 | — |"], 3, "no 'at commit X'"),
        (["at commit abc1234", "", "| config | mean |", "|---|---|", "| a | 0.9 |"], 3, "no column"),
    ],
)
def test_a_malformed_results_file_is_named_with_its_line(tmp_path, lines, line, message):
    path = results_file(tmp_path / "results", *lines)
    with pytest.raises(
        results_table.ResultsFileError, match=rf"^{re.escape(str(path))}:{line}: .*{re.escape(message)}"
    ):
        results_table.read_results(path)


def test_a_config_in_two_files_or_one_not_shipped_is_an_error(tmp_path):
    folder = tmp_path / "results"
    row = ["at commit abc1234", "", HEADER, SEPARATOR, "| a | 3 | 0.99 | 0.98 | — |"]
    results_file(folder, *row)
    results_file(folder, *row, name="train_quality_more.md")
    with pytest.raises(results_table.ResultsFileError, match="train_quality_more.md:5: a already has a row at"):
        results_table.collect(folder)
    (folder / "train_quality_more.md").unlink()
    with pytest.raises(results_table.ResultsFileError, match="train_quality.md:5: a is not a shipped config"):
        results_table.table(folder, configs(tmp_path / "configs", "b"))


def test_write_replaces_only_the_text_between_the_markers(tmp_path):
    start, end = results_table.MARKERS
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{start}\nold table\n{end}\nafter\n")
    assert results_table.write(readme, "| new |")
    assert readme.read_text() == f"# Title\n\nbefore\n{start}\n| new |\n{end}\nafter\n"
    assert not results_table.write(readme, "| new |")  # already current: left alone
    assert not (tmp_path / "README.md.tmp").exists()
    readme.write_text("no markers\n")
    with pytest.raises(results_table.ResultsFileError, match="must hold"):
        results_table.write(readme, "| new |")


def test_the_command_prints_the_table_and_names_a_malformed_file(tmp_path):
    printed = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == results_table.table()
    path = results_file(tmp_path / "results", "at commit abc1234", "", HEADER, SEPARATOR, "| a | 3 |")
    failed = subprocess.run(
        [sys.executable, str(SCRIPT), "--results", str(path.parent)], capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 1 and f"error: {path}:5: 2 cells where the header has 5" in failed.stderr
