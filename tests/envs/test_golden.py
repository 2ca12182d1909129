"""The dynamics stay bit-identical: state trajectories under fixed random actions, recorded with the first
wave's core (commit 310054e) in ``golden_trajectories.json``, reproduced exactly by today's core.

Worlds with an explicit offset range, so that the same actions mean the same quotes in both waves.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from envs import MarketBatch, make_world

GOLDEN = json.loads((Path(__file__).parent / "golden_trajectories.json").read_text())
CASES = {
    "as2008": ("as2008", {}),
    "toxic_fee": ("toxic", {"min_offset": -1.0, "max_offset": 3.0, "fee": 0.01, "initial_inventory": (-3, 3)}),
    "regimes_features": (
        "regimes",
        {
            "min_offset": -1.0,
            "max_offset": 3.0,
            "observation_features": ("mid_return", "last_fills", "fill_imbalance"),
        },
    ),
}


def trajectory(preset, overrides, n=6):
    world = make_world(preset, **overrides)
    batch = MarketBatch(world, n)
    batch.reset(seed=11)
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(world.n_steps + 3):  # across one close and into the next session
        result = batch.step(rng.uniform(-1, 1.05, size=(n, 2)))
        state = batch.state
        rows.append(
            [
                state.mid.copy(),
                state.cash.copy(),
                state.inventory.astype(float),
                state.regime.astype(float),
                np.asarray(result.reward, float),
                result.info["penalty"].astype(float),
            ]
        )
    return np.array(rows)


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectories_match_the_recorded_ones_bit_for_bit(name):
    data = trajectory(*CASES[name])
    golden = GOLDEN[name]
    first = [[[float(x).hex() for x in field] for field in row] for row in data[:3]]
    assert first == golden["first_steps"]
    assert [float(x).hex() for x in data[-1, 0]] == golden["final_mid"]
    assert hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest() == golden["sha256"]
