"""A market of any number of assets as a single Gymnasium environment (``mm_inventory/MarketMaking-v0`` given a
multi-asset preset or a ``Market``), a one-book ``MarketBatch``."""

from __future__ import annotations

from typing import Any

from envs.batch import MarketBatch, RewardVariant
from envs.dealer_spaces import dealer_action_space, dealer_observation_space
from envs.gym_env import BatchEnv
from envs.market import Market
from envs.presets import resolve_dealer


class DealerEnv(BatchEnv):
    """
    ## Description
    A dealer quotes a bid and an ask on each of d correlated assets of a ``Market`` for one session:
    requests of several sizes arrive on each side and fill with a probability that falls with the quote's
    distance from the mid (exponential or logistic curve); the dealer's inventory across the assets is the
    risk. Guéant (2017); Bergault, Evangelista, Guéant & Vieira (2021).

    ## Action Space
    ``Box(−1, 1, (2·d + m,), float32)``: each asset's normalized bid, then each asset's ask, mapped linearly
    onto the asset's ``envs.interface.offset_range`` (from ``δ̃(0) − 1.5·reach`` to ``δ̃(0) + 2·reach``, see
    ``envs.interface.natural_scales``); ``a = +1`` pulls the side. One offset per side serves every size. Then,
    for each of the m hedge instruments (``Market.hedges``), a trade of ``round(a·U/lot)·lot`` lots, clipped
    so that ``|position| ≤ Q₂``.

    ## Observation Space
    ``(d + m + 1,)`` float32, ``(d + m + 2,)`` with regimes (``envs.dealer_spaces``): each asset's inventory
    over its ``envs.interface.inventory_unit`` (three times its natural standard deviation, between 1 and Q),
    each hedge position over its ``envs.interface.hedge_unit`` (the minimum-variance hedge of the inventory
    units), the time to close as a fraction of the session, and with regimes the regime's volatility scale over
    the largest.

    ## Rewards
    Per step: the change in wealth marked to all mids, less fees, minus ``(φ_r·dt + α·[close])·xᵀRx`` over every
    position (``envs.core``; hedge trades pay ``ψ·|u| + η·u²/dt`` and a ticket fee). With
    ``reward="variance_reduced"`` the mids' diffusive revaluation is replaced by its mean, zero, and the fills'
    cash by its expectation. ``info`` carries ``spread_captured``, ``inventory_pnl``, ``penalty``, ``fees``,
    ``wealth`` and per asset ``inventory_i``, ``bid_fills_i`` and
    ``ask_fills_i``; with hedges also ``hedge_pnl``, ``hedge_cost`` and per hedge ``hedge_position_j`` and
    ``hedge_trade_j``.

    ## Starting State
    Each asset at its ``s0`` and ``initial_inventory``, each hedge at its ``s0`` and flat, zero cash.

    ## Episode End
    Termination at the close after ``horizon / dt`` steps; no truncation.

    ## Arguments
    ``gymnasium.make("mm_inventory/MarketMaking-v0", world="two_assets", reward="pnl", **overrides)``: ``world``
    a preset name (``envs.presets.MULTI_ASSET_PRESETS``) or a ``Market``; ``overrides`` any ``Market`` fields.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        world: str | Market = "two_assets",
        reward: RewardVariant = "pnl",
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (this env does not render); got {render_mode!r}")
        self.dealer = resolve_dealer(world, **overrides)
        self.batch = MarketBatch(self.dealer, 1, reward, autoreset=False)
        self.render_mode = None
        self.action_space = dealer_action_space(self.dealer)
        self.observation_space = dealer_observation_space(self.dealer)
