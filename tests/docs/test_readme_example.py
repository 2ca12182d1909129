"""The README's environment example runs as written (its first python block)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_example_runs():
    block = re.search(r"## The environment\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    book = namespace["book"]
    observation, _ = book.reset(seed=0)
    # Two inventories, time to close, the regime's volatility and the close's proximity (envs.observation_names).
    assert observation.shape == (5,)
    book.step(book.action_space.sample())
    assert namespace["vec"].num_envs == 1000
