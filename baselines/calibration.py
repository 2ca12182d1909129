"""The seed's "coarse backtest" for rung 1: tune the linear skew, half-spread and limit on the world's
own objective, every grid point on the same random streams."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from baselines.linear_skew import LinearSkew
from baselines.policy import POSITIVE, Parameter, Policy, one_asset_world
from envs import World
from envs.rollout import rollout

DEFAULT_SKEWS = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0)
DEFAULT_HALF_SPREAD_MULTIPLES = (0.5, 0.75, 1.0, 1.5)
DEFAULT_LIMIT_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def calibrate_linear_skew(
    world: World,
    skews: Sequence[float] = DEFAULT_SKEWS,
    half_spreads: Sequence[float] | None = None,
    limits: Sequence[int] | None = None,
    episodes: int = 200,
    seed: int = 0,
) -> dict[str, float | int]:
    """Grid-search ``linear_skew`` on the mean episode reward, all points under common random numbers.

    Parameters
    ----------
    world: the world to tune for (its objective is the score).
    skews: candidate skews k [price/lot].
    half_spreads: candidate half-spreads h [price]; default ``(0.5, 0.75, 1, 1.5) / fill_decay``.
    limits: candidate hard limits [lots]; default 25, 50, 75 and 100 % of ``max_inventory``.
    episodes: episodes per grid point; seed: the seed of episode 0 (episode i uses seed + i).

    Returns the best point as ``linear_skew`` parameters (``skew``, ``half_spread``, ``limit``,
    ``target_inventory``), ready for ``make_policy("linear_skew", world, **params)``.
    """
    if half_spreads is None:
        half_spreads = [m / world.fill_decay for m in DEFAULT_HALF_SPREAD_MULTIPLES]
    if limits is None:
        limits = sorted({max(1, round(f * world.max_inventory)) for f in DEFAULT_LIMIT_FRACTIONS})
    grid = [
        LinearSkew(world, skew=s, half_spread=h, limit=q) for s, h, q in itertools.product(skews, half_spreads, limits)
    ]

    def predict(observation: np.ndarray) -> np.ndarray:
        blocks = np.split(observation, len(grid))
        return np.concatenate([policy.predict(block)[0] for policy, block in zip(grid, blocks, strict=True)])

    result = rollout(world, predict, episodes, seed, copies=len(grid))
    scores = result.reward.reshape(len(grid), episodes).mean(axis=1)
    return dict(grid[int(np.argmax(scores))].params)


class CalibratedLinearSkew(LinearSkew):
    """``linear_skew`` with its skew, half-spread and limit tuned on the world's own objective by
    ``calibrate_linear_skew`` when built (the seed's coarse backtest, on its own seeds, disjoint from
    evaluation's default seeds). The tuned values are in ``params``."""

    name = "linear_skew_calibrated"
    parameters = {
        "calibration_seed": Parameter(int, 0, "0", "seed of the backtest's episode 0"),
        "calibration_episodes": Parameter(int, 200, "200", "episodes per grid point", bound=POSITIVE),
    }

    one_asset = True

    def __init__(self, world: World, **params) -> None:
        world = one_asset_world(self.name, world)
        Policy.__init__(self, world, **params)
        tuned = calibrate_linear_skew(
            world, episodes=self.params["calibration_episodes"], seed=self.params["calibration_seed"]
        )
        self.params = {**self.params, **tuned}
        self.resolve()
