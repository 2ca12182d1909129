import numpy as np
import pytest

from baselines import list_policies, make_policy
from baselines.registry import FLOW_POLICIES
from envs import make_world
from envs.rollout import rollout

EPISODES = 2000


def episode_rewards(world, policy, seed=123):
    return rollout(world, lambda o: policy.predict(o)[0], EPISODES, seed).reward


@pytest.mark.parametrize("preset", ["default", "toxic", "regimes", "worked_example"])
def test_optimal_is_at_least_as_good_as_every_baseline(preset):
    world = make_world(preset, fee=0.02) if preset == "toxic" else make_world(preset)
    best = episode_rewards(world, make_policy("optimal", world))
    for name in list_policies():
        if name in FLOW_POLICIES:  # bounds of markets with informed flow only
            continue
        if name == "optimal":
            continue
        difference = best - episode_rewards(world, make_policy(name, world))  # paired on the same streams
        standard_error = difference.std() / np.sqrt(EPISODES)
        assert difference.mean() >= -3 * standard_error, (name, difference.mean(), standard_error)


def test_optimal_strictly_beats_avellaneda_stoikov_with_a_running_penalty():
    world = make_world("default")
    difference = episode_rewards(world, make_policy("optimal", world)) - episode_rewards(
        world, make_policy("avellaneda_stoikov", world)
    )
    assert difference.mean() > 5 * difference.std() / np.sqrt(EPISODES)


@pytest.mark.parametrize("preset", ["default", "regimes", "as2008"])
def test_optimal_value_matches_monte_carlo(preset):
    world = make_world(preset, initial_inventory=(-2, 2))
    policy = make_policy("optimal", world)
    rewards = episode_rewards(world, policy, seed=7)
    assert abs(rewards.mean() - policy.expected_reward()) < 4 * rewards.std() / np.sqrt(EPISODES)


def test_optimal_pulls_the_side_that_cannot_fill_at_the_limit():
    world = make_world("default")
    policy = make_policy("optimal", world)
    bid, ask = policy.quotes(np.array([10, -10]), np.array([0.5, 0.5]), np.array([2.0, 2.0]))
    assert np.isinf(bid[0]) and np.isfinite(ask[0]) and np.isinf(ask[1]) and np.isfinite(bid[1])


WORLDS_NOBODY_TUNED = {
    "default": {},
    "toxic": {"adverse_jump": 0.25},
    "regimes": {"regime_scales": (0.5, 2.0), "regime_switch_rates": ((-2.0, 2.0), (4.0, -4.0))},
    "wide_limit_k1": {"max_inventory": 100, "fill_decay": 1.0, "dt": 0.01, "running_penalty": 0.1},
    "shallow_book_k0.3": {"fill_decay": 0.3},
    "steep_book_k50": {"fill_decay": 50.0, "sigma": 0.05, "arrival_intensity": 100.0, "running_penalty": 0.5},
    "thin_flow": {"arrival_intensity": 2.0, "fill_decay": 1.0, "max_inventory": 5, "horizon": 5.0, "dt": 0.05},
    "heavy_penalty": {"running_penalty": 20.0, "terminal_penalty": 5.0},
    "terminal_only": {"running_penalty": 0.0, "terminal_penalty": 2.0, "max_inventory": 30},
    "fees_and_jumps": {"fee": 0.3, "adverse_jump": 0.1},
    "literal_rule": {"fill_rule": "as2008", "arrival_intensity": 200.0, "fill_decay": 0.5, "running_penalty": 0.1},
}


@pytest.mark.parametrize("name", sorted(WORLDS_NOBODY_TUNED))
def test_derived_offset_range_holds_the_optimums_quotes(name):
    """Where a world leaves its offset range unset, the derived one costs the exact optimum nothing: its
    value equals the optimum's over a range seven times as wide."""
    world = make_world("default", **WORLDS_NOBODY_TUNED[name])
    assert world.min_offset is None
    low, high = world.offset_range
    assert low < 1 / world.fill_decay < high  # the risk-neutral quote is inside
    width = high - low
    derived = make_policy("optimal", world).expected_reward()
    wide = make_policy("optimal", world.replace(min_offset=low - 3 * width, max_offset=high + 3 * width))
    assert derived == pytest.approx(wide.expected_reward(), rel=1e-5)
    # The hand-tuned range of the first wave would not hold this world's risk-neutral quote at k = 0.3.
    if name == "shallow_book_k0.3":
        narrow = make_policy("optimal", world.replace(min_offset=-1.0, max_offset=3.0)).expected_reward()
        assert narrow < derived - 0.01 * abs(derived)
