import dataclasses

import numpy as np

from baselines import make_policy
from envs import make_world
from envs.rollout import rollout


def run(world, policy, seed=3):
    return rollout(world, lambda o: policy.predict(o)[0], 200, seed, keep_paths=True)


def test_same_policy_twice_gives_identical_numbers():
    world = make_world("toxic")
    first, second = run(world, make_policy("optimal", world)), run(world, make_policy("optimal", world))
    for field in dataclasses.fields(first):
        a, b = getattr(first, field.name), getattr(second, field.name)
        for key in a if isinstance(a, dict) else [None]:
            np.testing.assert_array_equal(a[key] if key else a, b[key] if key else b)


def test_policies_that_quote_identically_get_identical_results():
    world = make_world("default")
    symmetric = make_policy("symmetric", world)
    no_skew = make_policy(
        "linear_skew", world, skew=0.0, half_spread=1 / world.fill_decay, limit=world.max_inventory + 1
    )
    a, b = run(world, symmetric), run(world, no_skew)
    np.testing.assert_array_equal(a.reward, b.reward)
    np.testing.assert_array_equal(a.inventory_paths, b.inventory_paths)


def test_different_policies_share_the_mid_shocks():
    world = make_world("default", arrival_intensity=0.0)  # no fills: the paths depend only on the shocks
    a = rollout(world, lambda o: make_policy("symmetric", world).predict(o)[0], 50, 9)
    b = rollout(world, lambda o: make_policy("avellaneda_stoikov", world).predict(o)[0], 50, 9)
    np.testing.assert_array_equal(a.pnl, b.pnl)


def test_copies_repeat_the_same_streams():
    world = make_world("default")
    policy = make_policy("symmetric", world)
    single = rollout(world, lambda o: policy.predict(o)[0], 40, 5)
    doubled = rollout(world, lambda o: policy.predict(o)[0], 40, 5, copies=2)
    np.testing.assert_array_equal(doubled.reward, np.tile(single.reward, 2))
