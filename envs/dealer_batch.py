"""``DealerBatch``: ``n`` books of a multi-asset market over ``envs.core``, the runner behind its adapters.

``envs.batch.Batch`` owns the seeding (book i ↔ a single env seeded ``seed + i``), the episode bookkeeping,
the reward variant and the autoreset; this module gives it the dealer's core, layouts and ``info``.
"""

from __future__ import annotations

import numpy as np

from envs import core
from envs.batch import Batch, RewardVariant
from envs.dealer_spaces import action_names, action_to_deal, observe
from envs.market import Market


def step_info(dealer: Market, state: core.MarketState, outcome: core.StepOutcome) -> dict:
    """The per-step decomposition, one array entry per book: the reward's parts [price] (``spread_captured +
    inventory_pnl − fees − penalty`` is the ``pnl`` reward, exactly; with hedge instruments ``+ hedge_pnl −
    hedge_cost``), ``wealth``, per asset i ``inventory_i``, ``bid_fills_i`` and ``ask_fills_i`` [lots], and per
    hedge j ``hedge_position_j`` and ``hedge_trade_j`` [lots]."""
    info = {
        "spread_captured": outcome.spread_captured,
        "inventory_pnl": outcome.inventory_pnl,
        "penalty": outcome.penalty,
        "fees": outcome.fees,
        "wealth": state.wealth,
    }
    for i in range(dealer.n_assets):
        info[f"inventory_{i}"] = state.inventory[i]
        info[f"bid_fills_{i}"] = outcome.bid_fills[i]
        info[f"ask_fills_{i}"] = outcome.ask_fills[i]
    if dealer.n_hedges:
        info.update(hedge_pnl=outcome.hedge_pnl, hedge_cost=outcome.hedge_cost)
    for j in range(dealer.n_hedges):
        info[f"hedge_position_{j}"] = state.hedge_position[j]
        info[f"hedge_trade_{j}"] = outcome.hedge_trade[j]
    return info


class DealerBatch(Batch):
    """``n`` books of one ``Market``; actions ``(n, 2·d)`` over ``envs.dealer_spaces.action_names``."""

    def __init__(self, dealer: Market, n: int, reward: RewardVariant = "pnl", autoreset: bool = True) -> None:
        if not isinstance(dealer, Market):
            raise ValueError(f"dealer must be an envs.market.Market (see make_market); got {type(dealer).__name__}")
        if n is None:
            raise ValueError("num_envs must be an integer ≥ 1 (the dealer's books are always batched); got None")
        super().__init__(n, reward, autoreset)
        self.dealer = dealer
        self.n_steps = dealer.n_steps

    def _open(self, keys: np.ndarray, episode: np.ndarray, markets: np.ndarray | None) -> core.MarketState:
        return core.reset(self.dealer, keys, episode)

    def _observe(self, state: core.MarketState) -> np.ndarray:
        return observe(self.dealer, state)

    def _advance(self, action: np.ndarray) -> tuple:
        width = 2 * self.dealer.n_assets + self.dealer.n_hedges
        if action.shape != (self.n, width):
            raise ValueError(
                f"action must have shape ({self.n}, {width}) {action_names(self.dealer)}; got {action.shape}"
            )
        bid, ask, trade = action_to_deal(self.dealer, action)
        state, outcome = core.step(self.dealer, self.state, core.Action.quotes(bid, ask, trade))
        return state, outcome, step_info(self.dealer, state, outcome)
