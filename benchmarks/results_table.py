"""The README's results table, generated from the training-quality results files so that nobody retypes it.

Reads the Markdown tables of every ``benchmarks/results/train_quality*.md`` (what ``benchmarks/train_quality.py``
prints, each table under a stamp that names its command and commit) and prints one row per shipped config
(``configs/*.yaml``): the learned policy's optimality score over seeds, mean and worst seed, its mean paired reward
gap per episode to each baseline the file gives, the commit of the table's stamp and the file. A config with no row
is shown with "—" and a note; nothing is filled in by hand. Then one row per capture of
``benchmarks/results/sim_to_real*.md`` (``benchmarks/sim_to_real.py``, the same layout): the learned policy's score
on the capture's replayed real flow.

Run: ``.venv/bin/python benchmarks/results_table.py [--write]`` (``make results-table``). ``--write`` rewrites the
README between its start and end markers (``MARKERS``); without it the table is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CONFIGS = ROOT / "configs"
README = ROOT / "README.md"
MARKERS = ("<!-- results-table:start -->", "<!-- results-table:end -->")
PATTERN = "train_quality*.md"
SIM_TO_REAL = "sim_to_real*.md"
# Why a shipped config can have no training-quality row (from benchmarks/train_quality.py's docstring).
NO_ROW = {"as2008": "its optimality score is undefined: symmetric quoting is that world's optimum"}

COMMIT = re.compile(r"\bat commit ([0-9a-f]{7,40})\b")
CELL = re.compile(r"(?<!\\)\|")  # a cell boundary: a pipe not escaped as \|
SEPARATOR = re.compile(r":?-+:?")
NUMBER = re.compile(r"[+−-]?\d+(?:\.\d+)?")
CONFIG = re.compile(r"`?([A-Za-z0-9_-]+)`?")
GAP = "learned − "
NONE = "—"
REQUIRED = ("config", "optimality score: mean", "worst seed")


class ResultsFileError(ValueError):
    """A results file this script cannot read honestly; the message names the file and the line."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One config's row of a training-quality table, its cells as printed."""

    config: str
    mean: str  # the optimality score's mean over seeds, or "—" when the file gives none
    worst: str  # the worst seed's score, or "—"
    gaps: str  # "baseline +gap, …": the learned policy's mean paired reward gap per episode, or "—"
    why: tuple[str, ...]  # the score cells' words when they hold no number (e.g. a world without an optimum)
    commit: str  # from the stamp above the table ("… at commit X …")
    path: Path
    line: int  # 1-based line of the row in its file


def cells(line: str, path: Path, number: int) -> list[str]:
    """The cells of a Markdown table line ``| a | b |``."""
    text = line.strip()
    if not (text.startswith("|") and text.endswith("|") and len(text) > 1):
        raise ResultsFileError(f"{path}:{number}: a table line must start and end with '|': {line!r}")
    return [cell.strip() for cell in CELL.split(text[1:-1])]


def read_results(path: Path, first_only: bool = False) -> list[Row]:
    """Every row of the training-quality tables in ``path``.

    Args:
        path: a results file: stamp paragraphs, each followed by a Markdown table with (at least) the columns
            ``config``, ``optimality score: mean`` and ``worst seed``, and any ``learned − …`` columns.
        first_only: read the first table only (a sim-to-real file's; the tables after it are its details).

    Raises:
        ResultsFileError: a table without its separator line, a row whose cells do not match the header, a missing
            column, a table with no ``at commit X`` in the text above it; the message names the file and the line.
    """
    lines = path.read_text().splitlines()
    rows: list[Row] = []
    stamp_start = 0
    index = 0
    while index < len(lines):
        if not lines[index].lstrip().startswith("|"):
            index += 1
            continue
        start = index
        while index < len(lines) and lines[index].lstrip().startswith("|"):
            index += 1
        rows += _read_table(path, lines, start, index, "\n".join(lines[stamp_start:start]))
        if first_only:
            break
        stamp_start = index
    if not rows:
        raise ResultsFileError(f"{path}: no training-quality table")
    return rows


def _read_table(path: Path, lines: list[str], start: int, end: int, stamp: str) -> list[Row]:
    header = cells(lines[start], path, start + 1)
    if end - start < 2 or not all(SEPARATOR.fullmatch(c) for c in cells(lines[start + 1], path, start + 2)):
        raise ResultsFileError(f"{path}:{start + 2}: the table's second line must be its separator (|---|---|)")
    if len(cells(lines[start + 1], path, start + 2)) != len(header):
        raise ResultsFileError(f"{path}:{start + 2}: the separator has not the header's {len(header)} cells")
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ResultsFileError(f"{path}:{start + 1}: the table has no column {', '.join(map(repr, missing))}")
    commit = COMMIT.search(stamp)
    if commit is None:
        raise ResultsFileError(f"{path}:{start + 1}: no 'at commit X' in the text above this table")
    rows = []
    for number in range(start + 3, end + 1):
        row = cells(lines[number - 1], path, number)
        if len(row) != len(header):
            raise ResultsFileError(f"{path}:{number}: {len(row)} cells where the header has {len(header)}")
        cell = dict(zip(header, row, strict=True))
        name = CONFIG.match(cell["config"])
        if name is None:
            raise ResultsFileError(f"{path}:{number}: no config name in {cell['config']!r}")
        scores = [cell[column] if NUMBER.fullmatch(cell[column]) else NONE for column in REQUIRED[1:]]
        # Where a score is missing, the score cells' own words say why (e.g. "no optimum for this world").
        why = [cell[c] for c in (*REQUIRED[1:], "IQM [95 % CI]") if cell.get(c, NONE) not in (NONE, *scores)]
        why = [re.sub(rf"^{NONE}\s*\((.*)\)$", r"\1", text) for text in why]  # "— (why)" reads "why"
        rows.append(
            Row(
                config=name.group(1),
                mean=scores[0],
                worst=scores[1],
                gaps=_gaps(header, row),
                why=tuple(why) if NONE in scores else (),
                commit=commit.group(1),
                path=path,
                line=number,
            )
        )
    return rows


def _gaps(header: list[str], row: list[str]) -> str:
    """The ``learned − …`` columns as ``baseline +gap, …``; one ``learned − baseline per episode`` cell as printed."""
    parts = []
    for column, text in zip(header, row, strict=True):
        if not column.startswith(GAP) or text == NONE:
            continue
        baseline = column.removeprefix(GAP)
        parts.append(text if baseline == "baseline per episode" else f"{baseline} {text}")
    return ", ".join(parts) or NONE


def shipped_configs(configs: Path = CONFIGS) -> list[str]:
    """The shipped configs: the YAML files directly under ``configs/`` (the sweep specs live in a subfolder)."""
    return sorted(path.stem for path in configs.glob("*.yaml"))


def collect(results: Path = RESULTS, pattern: str = PATTERN) -> dict[str, Row]:
    """Each config's row over every results file matching ``pattern``; a config in two places is an error."""
    found: dict[str, Row] = {}
    for path in sorted(results.glob(pattern)):
        for row in read_results(path, first_only=pattern == SIM_TO_REAL):
            if row.config in found:
                first = found[row.config]
                raise ResultsFileError(
                    f"{path}:{row.line}: {row.config} already has a row at {first.path}:{first.line}; keep one"
                )
            found[row.config] = row
    return found


def table(results: Path = RESULTS, configs: Path = CONFIGS) -> str:
    """The README's table (and its notes) from the results files, one row per shipped config."""
    rows = collect(results)
    shipped = shipped_configs(configs)
    unknown = sorted(set(rows) - set(shipped))
    if unknown:
        row = rows[unknown[0]]
        raise ResultsFileError(f"{row.path}:{row.line}: {row.config} is not a shipped config (configs/*.yaml)")
    lines = [
        "<!-- written by `make results-table` (benchmarks/results_table.py) from benchmarks/results/train_quality*.md"
        " and sim_to_real*.md; do not edit by hand -->",
        "",
        "| config | learned: mean | worst seed | learned − baseline, mean reward per episode | commit | results file |",
        "|---|---:|---:|---|---|---|",
    ]
    notes = []
    for config in shipped:
        row = rows.get(config)
        if row is None:
            lines.append(f"| `{config}` | {NONE} | {NONE} | {NONE} | {NONE} | {NONE} |")
            why = NO_ROW.get(config, f"no row in benchmarks/results/{PATTERN}")
            notes.append(f"- `{config}`: {why}.")
            continue
        worst = f"**{row.worst}**" if row.worst != NONE else NONE
        lines.append(f"| `{config}` | {row.mean} | {worst} | {row.gaps} | {row.commit} | `{row.path.name}` |")
        if row.why:
            quoted = " and ".join(f"“{text}”" for text in row.why)
            notes.append(f"- `{config}`: no optimality score; its score cells in `{row.path.name}` read {quoted}.")
    for name, row in sorted(collect(results, SIM_TO_REAL).items()):
        worst = f"**{row.worst}**" if row.worst != NONE else NONE
        lines.append(f"| `{name}` | {row.mean} | {worst} | {row.gaps} | {row.commit} | `{row.path.name}` |")
        notes.append(
            f"- `{name}`: the learned policy trained on the market calibrated on the capture's first half, scored on "
            "its held-out half's recorded flow (0 symmetric, 1 the calibrated market's optimum); gaps per replayed "
            "session."
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the markers replaced by ``block``."""
    start, end = MARKERS
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ResultsFileError(f"the README must hold {start} once, then {end} once")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{block}\n{end}{tail}"


def current_block(text: str) -> str:
    """What lies between the markers of ``text``, without the newlines next to them."""
    start, end = MARKERS
    if text.count(start) != 1 or text.count(end) != 1:
        raise ResultsFileError(f"the README must hold {start} once, then {end} once")
    return text.split(start)[1].split(end)[0].strip("\n")


def write(readme: Path, block: str) -> bool:
    """Rewrite ``readme`` between the markers, whole, through a temporary file; False if it was already current."""
    text = readme.read_text()
    updated = replace_block(text, block)
    if updated == text:
        return False
    temporary = readme.with_name(readme.name + ".tmp")
    temporary.write_text(updated)
    os.replace(temporary, readme)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md between its markers")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the results files")
    parser.add_argument("--readme", type=Path, default=README)
    options = parser.parse_args(argv)
    try:
        block = table(options.results)
        if options.write:
            changed = write(options.readme, block)
            print(f"{'written' if changed else 'already current'}: {options.readme}")
        else:
            print(block)
    except ResultsFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
