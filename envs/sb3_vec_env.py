"""stable-baselines3's ``VecEnv`` over the batched core (every market, one asset or many), for training without
per-market Python envs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from envs.batch import Batch, MarketBatch, RewardVariant
from envs.close_starts import CLOSE_INVENTORY, CLOSE_WINDOW
from envs.market import Market
from envs.presets import resolve_any
from envs.world import World


class BatchVecEnv(VecEnv):
    """A ``Batch`` (``envs.batch``) as an SB3 ``VecEnv``, with ``DummyVecEnv``'s same-step autoreset.

    At the close a market's info gets ``terminal_observation``, ``TimeLimit.truncated = False`` (the
    close is a termination) and, for a whole session, Monitor-style ``episode`` (``r``, ``l``, ``t`` and
    ``objective``, the env's own reward summed, which differs from ``r`` under
    ``reward="variance_reduced"``); a training session opened near the close (``close_starts``) gets none,
    so that SB3's ``rollout/ep_rew_mean`` stays the mean of whole sessions. Every
    step's info carries the reward decomposition. ``seed(s)`` takes effect at the next ``reset()``
    and seeds market ``i`` like a single env seeded ``s + i``. The markets share one core, so
    ``get_attr``/``env_method`` answer from the batch, one list entry per requested index.
    """

    def __init__(self, batch: Batch, observation_space: gym.spaces.Box, action_space: gym.spaces.Box) -> None:
        self.batch = batch
        self.render_mode = None
        self._pending_seed: int | None = None
        self._actions: np.ndarray | None = None
        super().__init__(batch.n, observation_space, action_space)

    def reset(self) -> np.ndarray:
        observation = self.batch.reset(self._pending_seed)
        self._pending_seed = None
        return observation

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        self._pending_seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs, *self.action_space.shape)

    def step_wait(self) -> VecEnvStepReturn:
        result = self.batch.step(self._actions)
        info, finished = result.info, result.finished
        names = list(info)
        infos = [
            dict(zip(names, row, strict=True)) for row in zip(*(info[name].tolist() for name in names), strict=True)
        ]
        if finished is not None:
            for i in np.flatnonzero(finished.mask):
                infos[i]["terminal_observation"] = finished.final_observation[i]
                infos[i]["TimeLimit.truncated"] = False
                if finished.episode["l"][i] == self.batch.n_steps:
                    infos[i]["episode"] = {name: value[i].item() for name, value in finished.episode.items()}
        return result.observation, result.reward.astype(np.float32), result.terminated, infos

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


class MarketMakingVecEnv(BatchVecEnv):
    """``num_envs`` books of one market (``MarketBatch``) as an SB3 ``VecEnv``: a single-asset world or preset, or a
    ``Market`` or multi-asset preset of any number of assets (``overrides``: the kind's fields); see
    ``BatchVecEnv``."""

    def __init__(
        self,
        num_envs: int = 1,
        world: str | World | Market | None = "default",
        reward: RewardVariant = "pnl",
        close_starts: float = 0.0,
        close_window: int = CLOSE_WINDOW,
        close_inventory: str = CLOSE_INVENTORY,
        **overrides: Any,
    ) -> None:
        self.world = resolve_any(world, **overrides)
        batch = MarketBatch(
            self.world,
            num_envs,
            reward,
            close_starts=close_starts,
            close_window=close_window,
            close_inventory=close_inventory,
        )
        super().__init__(batch, batch.observation_space, batch.action_space)
