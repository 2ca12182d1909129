"""Gymnasium's natively vectorized environment over the batched core, in either of Gymnasium's autoreset modes."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from envs.batch import Batch, MarketBatch, RewardVariant
from envs.market import Market
from envs.presets import resolve_any
from envs.world import World

_MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def autoreset_mode_of(value: AutoresetMode | str) -> AutoresetMode:
    """The ``AutoresetMode`` given as itself, its value (``"NextStep"``) or its name (``"NEXT_STEP"``);
    ``ValueError`` naming the accepted ones."""
    mode = next((m for m in _MODES if value in (m, m.value, m.name)), None)
    if mode is None:
        raise ValueError(
            f"autoreset_mode must be one of {[m.name for m in _MODES]} (gymnasium.vector.AutoresetMode); got {value!r}"
        )
    return mode


class BatchVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` sessions of one market stepped as one numpy batch (``envs.batch.Batch``; ``gymnasium.make_vec``).

    ``autoreset_mode`` (``gymnasium.make_vec(..., autoreset_mode=...)``; an ``AutoresetMode`` or its value):

    - ``NEXT_STEP`` (Gymnasium's default, so its vector wrappers compose): a market reaching the close returns
      its closing observation with ``terminated``; the next ``step`` ignores its action and returns its new
      opening observation, reward 0, not terminated (its ``info`` entries are 0 there).
    - ``SAME_STEP``: a market reaching the close is reset inside ``step``; the returned observation is its new
      opening one, and ``info["final_obs"]`` (float32, ``(num_envs, obs_dim)``, valid where
      ``info["_final_obs"]``) holds the closing observation.

    In both, ``info["final_info"]["episode"]`` (valid where ``info["_final_info"]``) holds the episode statistics
    on the step a session closes. ``reset(seed=s)`` seeds market ``i`` like a single env seeded ``s + i``. Every
    other ``info`` entry is an array over markets (see ``MarketMakingEnv``).
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        batch: Batch,
        single_observation_space: gym.spaces.Box,
        single_action_space: gym.spaces.Box,
        render_mode: str | None,
        autoreset_mode: AutoresetMode | str,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (this env does not render); got {render_mode!r}")
        mode = autoreset_mode_of(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.batch = batch
        self.batch.defer_resets = mode is AutoresetMode.NEXT_STEP
        self.num_envs = self.batch.n
        self.render_mode = None
        self.single_action_space = single_action_space
        self.single_observation_space = single_observation_space
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return self.batch.reset(seed), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        result = self.batch.step(actions)
        info, finished = dict(result.info), result.finished
        if finished is not None:
            if not self.batch.defer_resets:
                info["final_obs"] = finished.final_observation
                info["_final_obs"] = finished.mask
            info["final_info"] = {"episode": finished.episode, "_episode": finished.mask}
            info["_final_info"] = finished.mask
        return result.observation, result.reward, result.terminated, np.zeros(self.num_envs, dtype=bool), info


class MarketMakingVectorEnv(BatchVectorEnv):
    """``num_envs`` books of one market (``MarketBatch``): a single-asset world or preset, or a ``Market`` or
    multi-asset preset of any number of assets (``overrides``: the kind's fields); see ``BatchVectorEnv``."""

    def __init__(
        self,
        num_envs: int = 1,
        world: str | World | Market | None = "default",
        reward: RewardVariant = "pnl",
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **overrides: Any,
    ) -> None:
        self.world = resolve_any(world, **overrides)
        batch = MarketBatch(self.world, num_envs, reward)
        spaces = batch.observation_space, batch.action_space
        super().__init__(batch, *spaces, render_mode, autoreset_mode)
