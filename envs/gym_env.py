"""The single-market Gymnasium environment for every market, a thin adapter over the runner: one unbatched book
(``MarketBatch(world, None)``) of a single-asset world or a ``Market`` of any number of assets."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.batch import MarketBatch, RewardVariant, draw_key
from envs.market import Market
from envs.observation import observation_table_markdown
from envs.presets import resolve_any
from envs.world import World

# One market's values (numpy scalars, or size-1 arrays) as Python scalars, by type: ``.item()`` costs ten
# times as much as ``float()`` on a numpy scalar.
_TO_PYTHON = {np.float64: float, np.int64: int, np.int32: int, np.bool_: bool, np.ndarray: np.ndarray.item}


class BatchEnv(gym.Env):
    """One session of a ``Batch`` (``envs.batch``, built without autoreset as ``self.batch``: unbatched, or of
    one market) as a Gymnasium env: seeding through Gymnasium's generator, each step's ``info`` as Python
    scalars."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None or self.batch.state is None:
            observation = self.batch.reset(keys=np.full(self.batch.shape, draw_key(self.np_random), dtype=np.uint64))
        else:
            observation = self.batch.reset()
        return observation.reshape(-1), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.batch.state is None:
            raise RuntimeError("the session is not started; call reset()")
        result = self.batch.step(np.asarray(action).reshape(self.batch.shape + (-1,)))
        info = {name: _TO_PYTHON[type(value)](value) for name, value in result.info.items()}
        reward = _TO_PYTHON[type(result.reward)](result.reward)
        terminated = _TO_PYTHON[type(result.terminated)](result.terminated)
        return result.observation.reshape(-1), reward, terminated, False, info


class MarketMakingEnv(BatchEnv):
    """
    ## Description
    A market maker quotes a bid and an ask on each of the d assets of a market for one session of ``horizon``
    time units in steps of ``dt`` (Avellaneda & Stoikov 2008; for several correlated assets, requests of several
    sizes and logistic fill curves, Guéant 2017 and Bergault, Evangelista, Guéant & Vieira 2021). Requests reach a
    quote at offset δ with intensity ``A·f(δ)`` per side (``A·e^(−k·δ)`` by default); fills arrive unpaired, so
    inventory wanders unless the quotes lean against it. The physics live in one ``Market`` (a single-asset
    ``World`` is a one-asset market with its interface fields, ``envs.make_world``); what the agent sees and does
    is the market's ``envs.interface.Interface``.

    ## Action Space
    ``Box(−1, 1, (2·d + m,), float32)``: each asset's normalized bid and ask (``bid, ask`` for one asset;
    ``bid_0, ask_0, bid_1, …`` for several), then each hedge instrument's trade (``envs.spaces``). A quote entry
    maps linearly onto its asset's offset range, ``δ = low + (a + 1)/2 · (high − low)`` in price units, one offset
    for every size; ``a = +1`` pulls the side. Finite actions outside the box are clipped; NaN or inf raises
    ``ValueError``. The range is the interface's ``offset_range``: as set, or derived from the market's own scales,
    ``δ̃(0) − 1.5·reach`` to ``δ̃(0) + 2·reach`` with ``reach = δ̃(0) + c·inventory_scale + ξ + |fee|`` and ``c``
    the asymptotic optimal skew per lot (``envs.interface.natural_scales``). A hedge entry asks for a trade of
    ``round(a·U/lot)·lot`` lots, clipped so that ``|position| ≤ Q₂``.

    ## Observation Space
    One table for every market (``envs.observation``); per-asset entries take one column per asset (suffixed
    ``_i`` in a market of several), per-hedge entries one per hedge:

    {table}

    ``hedge_position`` follows the base three where the market has hedge instruments; the features follow when
    the interface names them. An asset's inventory unit is three times its natural standard deviation (between
    1 and Q) unless set, so that the observation is of order one wherever the optimum keeps inventory; its bounds
    are ``±Q / inventory_unit``.

    ## Rewards
    Per step: the change in wealth marked to every mid, ``Δ(cash + Σ qᵢ·sᵢ)``, less fees (part of cash), minus
    the running penalty ``φ·dt·xᵀRx`` over every position x (``φ·q²·dt`` for one asset); at the close also minus
    ``α·xᵀRx`` (``envs.core``). Hedge trades pay ``ψ·|u| + η·u²/dt`` and a ticket fee at the start-of-step mid.
    With ``reward="variance_reduced"`` the mids' diffusive revaluation is replaced by its expectation, zero (the
    adverse-jump part stays), and the fills' cash and the penalty by their expectations given the quotes
    (``core.StepOutcome.variance_reduced_reward``). ``info`` carries the decomposition (``envs.batch.info_reporter``):
    ``spread_captured``, ``inventory_pnl``, ``penalty``, ``fees``, ``wealth``, per asset ``bid_fills``,
    ``ask_fills``, the quotes, ``inventory`` and ``mid``; with hedges ``hedge_pnl``, ``hedge_cost`` and per hedge
    ``hedge_trade``, ``hedge_position`` and ``hedge_mid``.

    ## Starting State
    Each asset at its ``s0`` and ``initial_inventory`` (fixed or uniform on a range), each hedge at its ``s0`` and
    flat, zero cash, the volatility regime drawn from the chain's stationary law.

    ## Episode End
    Termination: the session reaches the close after ``horizon / dt`` steps (time to close is
    observed, so this is not truncation). There is no truncation.

    ## Arguments
    ``gymnasium.make("mm_inventory/MarketMaking-v0", world="default", reward="pnl", **overrides)``:
    ``world`` a preset name, a ``World`` or a ``Market`` (``envs.presets.MARKET_PRESETS`` name markets);
    ``overrides`` any fields of its kind.

    ## Version History
    - v0: initial release; offset range and inventory unit derived from the world when unset; the optional
      hedge instrument (rung 3); every market, one asset or many, with one observation table and action layout.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        world: str | World | Market | None = "default",
        reward: RewardVariant = "pnl",
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (this env does not render); got {render_mode!r}")
        self.world = resolve_any(world, **overrides)
        self.batch = MarketBatch(self.world, None, reward, autoreset=False)  # one unbatched book
        self.render_mode = None
        self.action_space = self.batch.action_space
        self.observation_space = self.batch.observation_space


MarketMakingEnv.__doc__ = MarketMakingEnv.__doc__.replace("{table}", observation_table_markdown())
