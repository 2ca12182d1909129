"""Rung 1: linear inventory skew with a hard position limit (the seed's workhorse heuristic), in every market."""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.policy import MarketPolicy, Parameter, flattening_limit, pull_at_limit
from envs.interface import natural_scales


class LinearSkew(MarketPolicy):
    """Each asset's quote centre ``s − k·(q − q*)``, bid and ask a half-spread ``h`` either side of it, leaning on the
    asset's own inventory only; at ``q ≥ limit`` no bid, at ``q ≤ −limit`` no ask. Offsets from the mid:
    ``δ_b = h + k·(q − q*)``, ``δ_a = h − k·(q − q*)`` [price].

    Defaults per asset: ``k`` its natural skew per lot (``envs.interface.natural_scales``: the closed form's
    long-horizon marginal for the asset alone, √(φ/(κ·λ·E[z]))), ``h`` its myopic quote δ̃(0) (1/k for the
    exponential curve) and ``limit`` the largest inventory a fill of the smallest size can still reach,
    ``Q − z_min + 1`` (Q with unit sizes). A given value serves every asset."""

    name = "linear_skew"
    parameters = {
        "skew": Parameter(
            float, None, "each asset's natural skew per lot", "k, quote-centre shift per lot of inventory [price/lot]"
        ),
        "half_spread": Parameter(
            float, None, "each asset's myopic quote δ̃(0), 1/k", "h, distance of each quote from the centre [price]"
        ),
        "target_inventory": Parameter(float, 0.0, "0", "q*, the inventory the skew pulls towards [lots]"),
        "limit": Parameter(
            int,
            None,
            "Q (Q − z_min + 1 with sizes)",
            "hard limit: at |q| ≥ limit only the flattening side is quoted [lots]",
        ),
    }

    def __init__(self, world: Any, **params: Any) -> None:
        super().__init__(world, **params)
        self.resolve()

    def resolve(self) -> None:
        """Each asset's ``skew``, ``half_spread`` and ``limit``: as given in ``params``, or derived."""
        market, scales = self.market, natural_scales(self.market)
        derived = {
            "skew": scales["skew_per_lot"],
            "half_spread": scales["myopic_offset"],
            "limit": flattening_limit(market),
        }
        self.per_asset = {
            name: value if self.params[name] is None else np.full(market.n_assets, self.params[name])
            for name, value in derived.items()
        }

    def quotes(self, inventory, time_to_close, volatility):
        inventory = np.asarray(inventory, dtype=np.float64)
        lean = self.per_asset["skew"] * (inventory - self.params["target_inventory"])
        h = self.per_asset["half_spread"]
        return pull_at_limit(inventory, h + lean, h - lean, self.per_asset["limit"])
