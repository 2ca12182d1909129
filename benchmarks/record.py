"""Run a benchmark script and record its output as ``benchmarks/results/NAME.md``, stamped with the command, the
commit and the date, so that a figure in the docs names what produced it.

Run: ``.venv/bin/python benchmarks/record.py [--out DIR] NAME benchmarks/SCRIPT.py [ARGS ...]`` (``make results`` records every
current figure this way). The script's output is shown as it runs and written as printed: as is where it holds a
Markdown table, else in a code block. A failing script's exit code is passed on, and its file is left as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results file (default: %(default)s)")
    parser.add_argument("name", help="the results file's name, NAME.md: lower-case letters, digits, '_' or '-'")
    parser.add_argument("script", type=Path, help="the benchmark script, relative to the repository root")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    options = parser.parse_args(argv)
    name, script, args = options.name, options.script, options.args
    if not NAME.fullmatch(name):
        parser.error(f"NAME must be lower-case letters, digits, '_' or '-'; got {name!r}")
    if script.suffix != ".py" or not (ROOT / script).is_file():
        parser.error(f"{script} is not a Python script (absolute, or relative to {ROOT})")
    if not options.out.is_dir():
        parser.error(f"--out {options.out} is not a folder")
    command = " ".join(["python", script.as_posix(), *args])
    stamped = stamp(command)  # the code as it was when the script started
    lines = []
    with subprocess.Popen(
        [sys.executable, str(ROOT / script), *args], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line)
    if process.returncode != 0:
        print(f"error: {command} exited with code {process.returncode}; {name}.md not written", file=sys.stderr)
        return process.returncode
    output = "".join(lines).rstrip("\n")
    body = output if re.search(r"^\|.*\|$", output, re.M) else f"```\n{output}\n```"
    text = f"{stamped} Output as printed:\n\n{body}\n"
    target = options.out / f"{name}.md"
    temporary = target.with_suffix(".md.tmp")
    temporary.write_text(text)
    os.replace(temporary, target)
    print(f"written: {target}")
    return 0


def stamp(command: str) -> str:
    """``command`` at commit X (with uncommitted changes, if any), the date and the machine."""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    return f"`{command}` at commit {commit}, {dt.date.today().isoformat()}, on {machine}."


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
