"""Gymnasium's natively vectorized environment over the batched core, in either of Gymnasium's autoreset modes."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from envs.batch import MarketBatch, RewardVariant
from envs.presets import resolve_world
from envs.spaces import action_space, observation_space
from envs.world import World


class MarketMakingVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` markets of one world stepped as one numpy batch (``gymnasium.make_vec``).

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
        num_envs: int = 1,
        world: str | World | None = "default",
        reward: RewardVariant = "pnl",
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (this env does not render); got {render_mode!r}")
        modes = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
        mode = next((m for m in modes if autoreset_mode in (m, m.value, m.name)), None)
        if mode is None:
            raise ValueError(
                f"autoreset_mode must be one of {[m.name for m in modes]} (gymnasium.vector.AutoresetMode); "
                f"got {autoreset_mode!r}"
            )
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.world = resolve_world(world, **overrides)
        self.batch = MarketBatch(self.world, num_envs, reward)
        self.batch.defer_resets = mode is AutoresetMode.NEXT_STEP
        self.num_envs = self.batch.n
        self.render_mode = None
        self.single_action_space = action_space(self.world)
        self.single_observation_space = observation_space(self.world)
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
