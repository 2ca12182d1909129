"""The single-market Gymnasium environment for every market, a thin adapter over the runner: one unbatched book of
a single-asset world (``MarketBatch(world, None)``), or one book of a ``Market`` of any number of assets."""

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
_TO_PYTHON = {np.float64: float, np.int64: int, np.bool_: bool, np.ndarray: np.ndarray.item}


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
    A market maker quotes a bid and an ask around a random mid for one session of ``horizon`` time
    units in steps of ``dt`` (Avellaneda & Stoikov 2008). Market orders hit a quote at offset δ with
    intensity ``A·e^(−k·δ)`` per side; fills arrive unpaired, so inventory wanders unless the quotes
    lean against it. All market parameters live in one ``World`` (``envs.make_world``).

    ## Action Space
    ``Box(−1, 1, (2,), float32)``: normalized (bid, ask) offsets; ``δ = min_offset + (a + 1)/2 ·
    (max_offset − min_offset)`` in price units, ``a = +1`` pulls the side. Finite actions outside the
    box are clipped; NaN or inf raises ``ValueError``. The range is the world's ``offset_range``: as
    set, or, when ``min_offset``/``max_offset`` are left out, derived from the world's own scales,
    ``1/k − 1.5·reach`` to ``1/k + 2·reach`` with ``reach = 1/k + c·inventory_scale + ξ + |fee|`` and
    ``c = √(φ̄/(k·A·e⁻¹))`` the asymptotic optimal skew per lot (``envs.interface.natural_scales``).
    In a world with a hedge instrument (``hedge_sigma`` set) the action is ``Box(−1, 1, (3,))``: entry 2
    asks for a hedge trade of ``round(a·U_max/h)·h`` lots, clipped so that ``|q₂| ≤ Q₂``.

    ## Observation Space
    {table}

    ``hedge_position`` follows the base three in a hedged world only; the features follow when
    ``world.observed_features`` names them. The inventory's unit is the
    world's ``inventory_unit``: ``inventory_scale`` as set, or three times the inventory's natural
    standard deviation (between 1 and Q), so that the observation is of order one wherever the optimum
    keeps inventory, whatever Q is. Its bounds are ``±Q / inventory_unit``.

    ## Rewards
    Per step: the change in wealth marked to the mid, ``Δ(cash + q·s)``, minus ``φ·q²·dt``; at the
    close also minus ``α·q_T²``. Fees are part of cash. With ``reward="variance_reduced"`` the
    revaluation term ``q·σ√dt·ε`` is replaced by its expectation, zero (the adverse-jump part stays), and
    the fills' cash (spread captured less fees) by its expectation given the quotes, ``Σ p(δ)·(δ − fee)``
    (``core.StepOutcome.variance_reduced_reward``).
    ``info`` carries the decomposition: ``spread_captured``, ``inventory_pnl``, ``penalty``, ``fees``,
    ``bid_fills``, ``ask_fills``, the quotes, ``inventory``, ``mid`` and ``wealth``. With a hedge
    instrument: the trade pays ``ψ·|u| + η·u²/dt`` (and a ticket fee) at the hedge's start-of-step mid, the
    reward adds its position's revaluation, the penalties charge the net risk ``qᵀRq`` (``World.risk_matrix``),
    and ``info`` adds ``hedge_pnl``, ``hedge_cost``, ``hedge_trade``, ``hedge_position`` and ``hedge_mid``.

    ## Starting State
    Mid ``s0``, zero cash, inventory ``initial_inventory`` (fixed or uniform on a range), the
    volatility regime drawn from the chain's stationary law.

    ## Episode End
    Termination: the session reaches the close after ``horizon / dt`` steps (time to close is
    observed, so this is not truncation). There is no truncation.

    ## Markets of several assets
    A dealer quotes a bid and an ask on each of d correlated assets of a ``Market`` for one session: requests of
    several sizes arrive on each side and fill with a probability that falls with the quote's distance from the mid
    (exponential or logistic curve); the dealer's inventory across the assets is the risk. Guéant (2017); Bergault,
    Evangelista, Guéant & Vieira (2021).

    Actions: ``Box(−1, 1, (2·d + m,), float32)``: each asset's normalized bid, then each asset's ask, mapped
    linearly onto the asset's ``envs.interface.offset_range`` (from ``δ̃(0) − 1.5·reach`` to ``δ̃(0) + 2·reach``,
    see ``envs.interface.natural_scales``); ``a = +1`` pulls the side. One offset per side serves every size. Then,
    for each of the m hedge instruments (``Market.hedges``), a trade of ``round(a·U/lot)·lot`` lots, clipped so that
    ``|position| ≤ Q₂``.

    Observations: ``(d + m + 1,)`` float32, ``(d + m + 2,)`` with regimes (``envs.dealer_spaces``): each asset's
    inventory over its ``envs.interface.inventory_unit`` (three times its natural standard deviation, between 1 and
    Q), each hedge position over its ``envs.interface.hedge_unit`` (the minimum-variance hedge of the inventory
    units), the time to close as a fraction of the session, and with regimes the regime's volatility scale over the
    largest.

    Rewards: Per step: the change in wealth marked to all mids, less fees, minus ``(φ_r·dt + α·[close])·xᵀRx`` over
    every position (``envs.core``; hedge trades pay ``ψ·|u| + η·u²/dt`` and a ticket fee). With
    ``reward="variance_reduced"`` the mids' diffusive revaluation is replaced by its mean, zero, and the fills' cash
    and the penalty by their expectations given the quotes. ``info`` carries ``spread_captured``, ``inventory_pnl``, ``penalty``, ``fees``, ``wealth``
    and per asset ``inventory_i``, ``bid_fills_i`` and ``ask_fills_i``; with hedges also ``hedge_pnl``,
    ``hedge_cost`` and per hedge ``hedge_position_j`` and ``hedge_trade_j``.

    Starting state: Each asset at its ``s0`` and ``initial_inventory``, each hedge at its ``s0`` and flat, zero
    cash.

    Episode end: Termination at the close after ``horizon / dt`` steps; no truncation.

    ## Arguments
    ``gymnasium.make("mm_inventory/MarketMaking-v0", world="default", reward="pnl", **overrides)``:
    ``world`` a preset name, a ``World`` or a ``Market`` (``envs.presets.MULTI_ASSET_PRESETS`` name markets);
    ``overrides`` any fields of its kind.

    ## Version History
    - v0: initial release; offset range and inventory unit derived from the world when unset; the optional
      hedge instrument (rung 3).
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
        # A single-asset world steps one unbatched market; a Market one book of a batch.
        self.batch = MarketBatch(self.world, None if isinstance(self.world, World) else 1, reward, autoreset=False)
        self.render_mode = None
        self.action_space = self.batch.view.action_space
        self.observation_space = self.batch.view.observation_space


MarketMakingEnv.__doc__ = MarketMakingEnv.__doc__.replace("{table}", observation_table_markdown())
