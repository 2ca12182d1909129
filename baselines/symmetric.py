"""Rung 0: symmetric quoting, a fixed half-spread around the mid whatever the inventory."""

from __future__ import annotations

import numpy as np

from baselines.policy import OneAssetPolicy, Parameter


class Symmetric(OneAssetPolicy):
    """Bid at ``s − h``, ask at ``s + h``. The default ``h = 1/k`` maximizes ``δ·A·e^(−k·δ)``, the
    risk-neutral optimal depth under exponential fills (Avellaneda & Stoikov 2008, §3 with γ → 0)."""

    name = "symmetric"
    parameters = {
        "half_spread": Parameter(
            float, lambda world: 1.0 / world.fill_decay, "1/fill_decay", "distance of each quote from the mid [price]"
        ),
    }

    def quotes(self, inventory, time_to_close, volatility):
        offset = np.full(np.shape(inventory), self.params["half_spread"], dtype=np.float64)
        return offset, offset.copy()
