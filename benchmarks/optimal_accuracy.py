"""How exact is ``optimal``? Its tabulated value against Monte Carlo, and its convergence to the continuous-time
Cartea–Jaimungal solution as dt shrinks (the checks ``tests/baselines`` pin, with the figures printed).

Run: ``.venv/bin/python benchmarks/optimal_accuracy.py``.
"""

from __future__ import annotations

import numpy as np

from baselines import make_policy
from envs import make_world
from envs.rollout import rollout

EPISODES = 4000
TIME_STEPS = (0.01, 0.005, 0.002, 0.001)


def main() -> None:
    print(f"exact expected reward vs Monte Carlo ({EPISODES:,} episodes, seed 0):")
    for preset in ("default", "toxic", "regimes", "as2008"):
        world = make_world(preset)
        policy = make_policy("optimal", world)
        rewards = rollout(world, lambda o, p=policy: p.predict(o)[0], EPISODES, 0).reward
        standard_error = rewards.std(ddof=1) / np.sqrt(EPISODES)
        print(
            f"  {preset:<8} exact {policy.expected_reward():8.3f}   simulated {rewards.mean():8.3f} ± {standard_error:.3f}"
        )
    print("largest |optimal − cartea_jaimungal| quote gap [price], default world with Q = 5, half the session left:")
    inventory = np.arange(-4, 5)
    for dt in TIME_STEPS:
        world = make_world("default", dt=dt, max_inventory=5)
        state = (inventory, np.full(inventory.size, 0.5), np.full(inventory.size, world.sigma))
        optimal = make_policy("optimal", world).quotes(*state)
        closed_form = make_policy("cartea_jaimungal", world).quotes(*state)
        gap = max(np.abs(a - b).max() for a, b in zip(optimal, closed_form, strict=True))
        print(f"  dt = {dt:<6} {gap:.4f}")


if __name__ == "__main__":
    main()
