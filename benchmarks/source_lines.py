"""The source's size against an earlier revision's: lines of Python per package (``envs``, ``baselines``, ``eval``,
``train``), the modules removed since and those added, and the pairs of repeated places ``duplicates`` lists
over the whole tree where that command is on the PATH.

A line is a non-blank line that is not only a comment. The modules added since the revision are split into those
that carry a capability the revision did not have (``CAPABILITIES``: informed flow, real markets) and the rest, so
that the size of what both revisions do can be read beside what was added.

A third column is the tree at ``MERGED``: the one market merged, before a later issue's first module.

Run: ``.venv/bin/python benchmarks/source_lines.py [REV]`` (default: 02aed36, the last commit before the one core).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from revision import ROOT, exported, head  # this folder's sibling module

PACKAGES = ("envs", "baselines", "eval", "train")
# The last commit before a later issue's first module (issue 30's eval/tape.py, 7a2dd11): the one market merged, the
# dealer stack, the bridge and the second family of closed forms gone, without what later issues added.
MERGED = "37fe8d6"
# Modules that carry what 02aed36 could not do, by capability.
CAPABILITIES = {
    "informed flow (issue 31)": ("envs/flow.py", "baselines/flow_optimal.py", "baselines/filtered_closed_form.py"),
    "real markets (issue 30)": (
        "eval/tape.py",
        "eval/calibrate.py",
        "eval/calibration_report.py",
        "eval/replay.py",
        "eval/sim_to_real.py",
        "train/sim_to_real.py",
    ),
}


def source_lines(path: Path) -> int:
    """Non-blank lines of a Python file that are not only a comment."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return sum(1 for line in lines if line and not line.startswith("#"))


def modules(tree: Path) -> dict[str, int]:
    """Each package module's lines, by path relative to the tree."""
    return {
        str(path.relative_to(tree)): source_lines(path)
        for package in PACKAGES
        for path in sorted((tree / package).rglob("*.py"))
    }


def duplicate_pairs(tree: Path) -> str:
    """``duplicates``' first line over the tree, or why there is none."""
    if shutil.which("duplicates") is None:
        return "(the duplicates command is not on this machine)"
    done = subprocess.run(["duplicates", "--repo", str(tree)], capture_output=True, text=True, cwd=tree)
    return done.stdout.splitlines()[0] if done.stdout else "(no output)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", nargs="?", default="02aed36")
    args = parser.parse_args()
    with exported(args.revision) as tree:
        before, before_duplicates = modules(tree), duplicate_pairs(tree)
    with exported(MERGED) as tree:
        merged, merged_duplicates = modules(tree), duplicate_pairs(tree)
    now = modules(ROOT)
    capability = {name: label for label, names in CAPABILITIES.items() for name in names}
    trees = {args.revision: before, f"{MERGED} (merged)": merged, head(): now}
    print(f"Lines of source (non-blank, not only a comment), {args.revision} → {head()}:\n")
    print(f"| package | {' | '.join(trees)} |\n|---|---:|---:|---:|")
    for package in PACKAGES:
        sizes = (
            sum(lines for name, lines in tree.items() if name.startswith(package + "/")) for tree in trees.values()
        )
        print(f"| {package} | {' | '.join(f'{size:,}' for size in sizes)} |")
    print(f"| all | {' | '.join(f'{sum(tree.values()):,}' for tree in trees.values())} |")
    removed = sorted(set(before) - set(now))
    added = sorted(set(now) - set(before))
    print(f"\nRemoved since {args.revision}: {sum(before[name] for name in removed):,} lines in {len(removed)} modules")
    print(", ".join(f"`{name}` {before[name]}" for name in removed) or "none")
    for label in CAPABILITIES:
        names = [name for name in added if capability.get(name) == label]
        print(f"\nAdded for {label}: {sum(now[name] for name in names):,} lines")
        print(", ".join(f"`{name}` {now[name]}" for name in names) or "none")
    rest = [name for name in added if name not in capability]
    print(f"\nAdded otherwise: {sum(now[name] for name in rest):,} lines")
    print(", ".join(f"`{name}` {now[name]}" for name in rest) or "none")
    common = sum(now.values()) - sum(now[name] for name in added if name in capability)
    print(
        f"\nWithout the modules of new capabilities: {common:,} lines at {head()} against {sum(before.values()):,} at "
        f"{args.revision} (capabilities added inside shared modules are counted in both)."
    )
    print(f"\n`duplicates` over the tree at {args.revision}: {before_duplicates}")
    print(f"`duplicates` over the tree at {MERGED} (merged): {merged_duplicates}")
    print(f"`duplicates` over the tree at {head()}: {duplicate_pairs(ROOT)}")


if __name__ == "__main__":
    main()
