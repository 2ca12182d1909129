"""``core.step`` env-steps per second in this checkout against an earlier revision, in the same minute.

The revision's tree is exported with ``git archive`` into a temporary folder; each tree is timed in its own
process (as2008, an explicit offset range, so the quotes are the same in both), alternating
revision, checkout, revision. Both the four-array ``core.step`` of the first wave and the typed action
(``core.Quotes``, now ``core.Action``) are understood.

Run: ``.venv/bin/python benchmarks/core_vs_revision.py [REV]`` (default: the first wave, 310054e).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMING = """
import time, numpy as np
from envs import core, make_world, market_keys
def rate(n, steps):
    world = make_world("as2008")
    state = core.reset(world, market_keys(0, n), np.zeros(n, dtype=np.uint64))
    typed = getattr(core, "Action", None) or getattr(core, "Quotes", None)
    quotes = typed(np.full((n, 2), 0.7), np.ones((n, 2), dtype=bool)) if typed else None
    offset, quoted = np.full(n, 0.7), np.ones(n, dtype=bool)
    start = time.perf_counter()
    for _ in range(steps):
        if state.step[0] >= world.n_steps:
            state = core.reset(world, state.key, state.episode + np.uint64(1))
        state, _ = core.step(world, state, quotes) if typed else core.step(world, state, offset, offset, quoted, quoted)
    return n * steps / (time.perf_counter() - start)
for n, steps in ((1, 20000), (1000, 2000), (10000, 1000)):
    print(n, max(rate(n, steps) for _ in range(3)))
"""


def timed(tree: Path) -> dict[int, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", TIMING], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return {int(n): float(r) for n, r in (line.split() for line in out.stdout.split("\n") if line)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision", nargs="?", default="310054e")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.revision], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        before, now, after = timed(Path(folder)), timed(ROOT), timed(Path(folder))
    for n in now:
        old = max(before[n], after[n])
        print(
            f"{n:>6,} markets: {args.revision} {old:>12,.0f}  this checkout {now[n]:>12,.0f}  ratio {now[n] / old:.2f}"
        )


if __name__ == "__main__":
    main()
