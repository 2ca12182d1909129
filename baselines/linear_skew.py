"""Rung 1: linear inventory skew with a hard position limit (the seed's workhorse heuristic)."""

from __future__ import annotations

import numpy as np

from baselines.policy import OneAssetPolicy, Parameter, pull_at_limit


class LinearSkew(OneAssetPolicy):
    """Quote centre ``s − k·(q − q*)``, bid and ask a half-spread ``h`` either side of it; at
    ``|q| ≥ limit`` only the flattening side is quoted. Offsets from the mid:
    ``δ_b = h + k·(q − q*)``, ``δ_a = h − k·(q − q*)`` [price]."""

    name = "linear_skew"
    parameters = {
        "skew": Parameter(float, 0.01, "0.01", "k, quote-centre shift per lot of inventory [price/lot]"),
        "half_spread": Parameter(
            float,
            lambda world: 1.0 / world.fill_decay,
            "1/fill_decay",
            "h, distance of each quote from the centre [price]",
        ),
        "target_inventory": Parameter(float, 0.0, "0", "q*, the inventory the skew pulls towards [lots]"),
        "limit": Parameter(
            int,
            lambda world: world.max_inventory,
            "max_inventory",
            "Q, hard limit: at |q| ≥ Q only the flattening side is quoted [lots]",
        ),
    }

    def quotes(self, inventory, time_to_close, volatility):
        lean = self.params["skew"] * (np.asarray(inventory, dtype=np.float64) - self.params["target_inventory"])
        h = self.params["half_spread"]
        return pull_at_limit(inventory, h + lean, h - lean, self.params["limit"])
