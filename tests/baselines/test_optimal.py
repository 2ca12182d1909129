import numpy as np
import pytest

from baselines import list_policies, make_policy
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
        if name == "optimal":
            continue
        difference = best - episode_rewards(world, make_policy(name, world))  # paired on the same streams
        standard_error = difference.std() / np.sqrt(EPISODES)
        assert difference.mean() > -3 * standard_error, (name, difference.mean(), standard_error)


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


@pytest.mark.parametrize("preset", ["default", "toxic", "regimes"])
def test_trained_worlds_offset_range_costs_the_optimum_nothing(preset):
    """The [-1, 3] offset range of the trained worlds holds every quote the optimum needs."""
    narrow = make_policy("optimal", make_world(preset)).expected_reward()
    wide = make_policy("optimal", make_world(preset, min_offset=-2.0, max_offset=6.0)).expected_reward()
    assert narrow == pytest.approx(wide, rel=1e-6)
