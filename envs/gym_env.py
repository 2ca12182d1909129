"""The single-market Gymnasium environment, a thin adapter over the batched core (n = 1)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs import core
from envs.batch import RewardVariant, check_reward_variant, draw_key, step_info
from envs.presets import resolve_world
from envs.spaces import action_space, action_to_quotes, observation_space
from envs.world import World


class MarketMakingEnv(gym.Env):
    """
    ## Description
    A market maker quotes a bid and an ask around a random mid for one session of ``horizon`` time
    units in steps of ``dt`` (Avellaneda & Stoikov 2008). Market orders hit a quote at offset δ with
    intensity ``A·e^(−k·δ)`` per side; fills arrive unpaired, so inventory wanders unless the quotes
    lean against it. All market parameters live in one ``World`` (``envs.make_world``).

    ## Action Space
    ``Box(−1, 1, (2,), float32)``: normalized (bid, ask) offsets; ``δ = min_offset + (a + 1)/2 ·
    (max_offset − min_offset)`` in price units, ``a = +1`` pulls the side. Finite actions outside the
    box are clipped; NaN or inf raises ``ValueError``.

    ## Observation Space
    | index | name          | unit                          | min | max |
    |-------|---------------|-------------------------------|-----|-----|
    | 0     | inventory     | lots / max_inventory          | −1  | 1   |
    | 1     | time_to_close | fraction of the session left  | 0   | 1   |
    | 2     | volatility    | σ / largest regime σ          | 0   | 1   |

    Extra entries follow when ``world.observation_features`` names them: ``mid_return`` (last mid
    change / (max σ·√dt), clipped to ±10), ``last_fills`` (bid_filled, ask_filled ∈ {0, 1}) and
    ``fill_imbalance`` (EWMA of bid − ask fills, in [−1, 1]).

    ## Rewards
    Per step: the change in wealth marked to the mid, ``Δ(cash + q·s)``, minus ``φ·q²·dt``; at the
    close also minus ``α·q_T²``. Fees are part of cash. With ``reward="variance_reduced"`` the
    revaluation term ``q·σ√dt·ε`` is replaced by its expectation, zero (the adverse-jump part stays).
    ``info`` carries the decomposition: ``spread_captured``, ``inventory_pnl``, ``penalty``, ``fees``,
    ``bid_fills``, ``ask_fills``, the quotes, ``inventory``, ``mid`` and ``wealth``.

    ## Starting State
    Mid ``s0``, zero cash, inventory ``initial_inventory`` (fixed or uniform on a range), the
    volatility regime drawn from the chain's stationary law.

    ## Episode End
    Termination: the session reaches the close after ``horizon / dt`` steps (time to close is
    observed, so this is not truncation). There is no truncation.

    ## Arguments
    ``gymnasium.make("mm_inventory/MarketMaking-v0", world="default", reward="pnl", **overrides)``:
    ``world`` a preset name or a ``World``; ``overrides`` any world fields.

    ## Version History
    - v0: initial release.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        world: str | World | None = "default",
        reward: RewardVariant = "pnl",
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (this env does not render); got {render_mode!r}")
        self.world = resolve_world(world, **overrides)
        self.reward_variant = check_reward_variant(reward)
        self.render_mode = None
        self.action_space = action_space()
        self.observation_space = observation_space(self.world)
        self._key: np.uint64 | None = None
        self._episode = 0
        self._state: core.MarketState | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None or self._key is None:
            self._key = draw_key(self.np_random)
            self._episode = 0
        else:
            self._episode += 1
        self._state = core.reset(self.world, np.array([self._key]), np.array([self._episode], dtype=np.uint64))
        return core.observe(self.world, self._state)[0], {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._state is None or self._state.step[0] >= self.world.n_steps:
            raise RuntimeError("the session is closed or not started; call reset()")
        bid_offset, ask_offset, bid_quoted, ask_quoted = action_to_quotes(self.world, np.asarray(action)[None, :])
        self._state, outcome = core.step(self.world, self._state, bid_offset, ask_offset, bid_quoted, ask_quoted)
        reward = outcome.reward if self.reward_variant == "pnl" else outcome.variance_reduced_reward
        columns = step_info(self._state, outcome, bid_offset, ask_offset, bid_quoted, ask_quoted)
        info = {name: column[0].item() for name, column in columns.items()}
        observation = core.observe(self.world, self._state)[0]
        return observation, float(reward[0]), bool(outcome.terminated[0]), False, info
