"""The dynamics stay put: state trajectories under fixed random actions, recorded in ``golden_trajectories.npz``
and reproduced by today's core.

Integer streams (inventories, regimes) must match exactly; floats (mids, cash, rewards, penalties) to within a
relative 1e-12 of each field's scale. numpy's vectorized ``exp``, ``log`` and friends may differ in the last bits
from one CPU to another, so a bit-for-bit comparison fails on a different machine without any change of
dynamics; any real change (a fill, a formula, a random stream) moves the trajectories by far more than that.

The single-asset recordings were first made with the first wave's core (commit 310054e) and reproduced by every
core since, the one core for every market included. The one core re-recorded the file once, adding two cases whose
random streams it changed: a hedged world under the binomial mid (the hedge's ±1 now drawn from the stream after the
quoted asset's) and a multi-asset market (``two_assets_regimes``; correlated shocks through the Cholesky factor, where
the multi-asset core used a symmetric root). Re-record (``python tests/envs/test_golden.py``) only in a commit that
changes the dynamics or the random-stream layout, and say so. ``two_assets_hedged`` (two assets and a hedge under a
constant penalty rate: the penalty looked up in one table over whole positions) was added later with its own arrays
only, recorded by a core that matched the one before the table bit for bit; the other arrays were left as they were.

Worlds with an explicit offset range, so that the same actions mean the same quotes in every wave; a multi-asset
market's range is derived from its physics (``envs.interface``).
"""

from pathlib import Path

import numpy as np
import pytest

from envs import MarketBatch, make_world
from envs.presets import is_market_preset, make_market

GOLDEN_FILE = Path(__file__).parent / "golden_trajectories.npz"
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
    "hedged_binomial": (
        "hedged",
        {"min_offset": -1.0, "max_offset": 3.0, "mid_process": "binomial", "hedge_ticket_fee": 0.01, "fee": 0.01},
    ),
    "two_assets_regimes": ("two_assets_regimes", {}),
    "two_assets_hedged": ("two_assets_hedged", {}),
}
INTEGER_FIELDS = ("inventory", "regime")
FLOAT_FIELDS = ("mid", "cash", "reward", "penalty")
RELATIVE_TOLERANCE = 1e-12


def trajectory(preset: str, overrides: dict, n: int = 6) -> dict[str, np.ndarray]:
    """Each field's values over the steps, ``(steps, n)`` (per asset ``(steps, d, n)`` in a multi-asset market),
    across one close and into the next session."""
    world = make_market(preset, **overrides) if is_market_preset(preset) else make_world(preset, **overrides)
    batch, one = MarketBatch(world, n), not is_market_preset(preset)
    d = batch.market.n_assets
    width = len(batch.action_names)
    # The recording's random actions listed every bid, then every ask; the action layout pairs each asset's bid and
    # ask (identical with one asset), so the same draws are laid out as the recording read them.
    layout = [column for i in range(d) for column in (i, d + i)] + list(range(2 * d, width))
    batch.reset(seed=11)
    rng = np.random.default_rng(5)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in INTEGER_FIELDS + FLOAT_FIELDS}
    for _ in range(batch.n_steps + 3):
        result = batch.step(rng.uniform(-1, 1.05, size=(n, width))[:, layout])
        state = batch.state
        for name, value in (
            ("inventory", state.inventory[0] if one else state.inventory),  # one asset: its row
            ("regime", state.regime),
            ("mid", state.mid[0] if one else state.mid),
            ("cash", state.cash),
            ("reward", result.reward),
            ("penalty", result.info["penalty"]),
        ):
            rows[name].append(np.array(value))
    return {name: np.stack(values) for name, values in rows.items()}


def close_to_recorded(actual: np.ndarray, recorded: np.ndarray) -> bool:
    """Whether every entry is within ``RELATIVE_TOLERANCE`` of the field's scale (its largest recorded value)."""
    scale = max(float(np.abs(recorded).max()), 1.0)
    return actual.shape == recorded.shape and bool(np.all(np.abs(actual - recorded) <= RELATIVE_TOLERANCE * scale))


GOLDEN = dict(np.load(GOLDEN_FILE)) if GOLDEN_FILE.exists() else {}


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectories_match_the_recorded_ones(name):
    data = trajectory(*CASES[name])
    for field in INTEGER_FIELDS:
        np.testing.assert_array_equal(data[field], GOLDEN[f"{name}/{field}"], err_msg=field)
    for field in FLOAT_FIELDS:
        recorded = GOLDEN[f"{name}/{field}"]
        assert close_to_recorded(data[field], recorded), (
            f"{field}: largest difference {np.abs(data[field] - recorded).max():.3g}"
        )


def test_the_comparison_catches_a_change_of_dynamics():
    # One more lot filled once, or a mid off by a thousandth, is far outside the tolerance.
    recorded = GOLDEN["toxic_fee/mid"]
    nudged = recorded.copy()
    nudged[100, 2] += 1e-3
    assert close_to_recorded(recorded, recorded)
    assert not close_to_recorded(nudged, recorded)
    assert close_to_recorded(recorded * (1 + 4e-16), recorded)  # a few ulps


if __name__ == "__main__":
    arrays = {f"{name}/{field}": values for name, case in CASES.items() for field, values in trajectory(*case).items()}
    np.savez_compressed(GOLDEN_FILE, **arrays)
    print(f"recorded {len(arrays)} arrays in {GOLDEN_FILE}")
