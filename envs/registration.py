"""One Gymnasium id for every market, ``mm_inventory/MarketMaking-v0``: its entry points pick the adapter the world
needs (a single-asset ``World`` or preset, or a ``Market`` of any number of assets), and the removed
``mm_inventory/Dealer-v0`` says what replaces it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from envs.gym_env import MarketMakingEnv
from envs.vector_env import MarketMakingVectorEnv

ENV_ID = "mm_inventory/MarketMaking-v0"
REMOVED_DEALER_ID = "mm_inventory/Dealer-v0"


def make_env(world: Any = "default", **kwargs: Any) -> gym.Env:
    """The single env of ``world`` (``gymnasium.make``): ``MarketMakingEnv``, for every market."""
    return MarketMakingEnv(world, **kwargs)


def make_vector_env(num_envs: int = 1, world: Any = "default", **kwargs: Any) -> gym.vector.VectorEnv:
    """The native vector env of ``world`` (``gymnasium.make_vec``): ``MarketMakingVectorEnv``, for every market."""
    return MarketMakingVectorEnv(num_envs, world, **kwargs)


def removed_dealer_env(**kwargs: Any) -> gym.Env:
    """``mm_inventory/Dealer-v0`` is gone: ``ValueError`` saying what replaces it."""
    market = kwargs.get("dealer", "two_assets")
    raise ValueError(
        f"{REMOVED_DEALER_ID} was removed: every market, one asset or many, is {ENV_ID}; use "
        f"gymnasium.make({ENV_ID!r}, world={market!r}) (the keyword is world=, a preset name or an envs.Market)"
    )
