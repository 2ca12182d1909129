"""Rung 0: symmetric quoting, a fixed half-spread around each asset's mid whatever the inventory, in every market."""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.policy import MarketPolicy, Parameter


class Symmetric(MarketPolicy):
    """Each asset's bid at ``s − h`` and ask at ``s + h``. The default ``h`` is each asset's myopic best response
    ``δ̃ᵢ(0)`` (``envs.market.Asset.best_response``): ``1/k`` for the exponential curve, which maximizes
    ``δ·A·e^(−k·δ)``, the risk-neutral optimal depth (Avellaneda & Stoikov 2008, §3 with γ → 0);
    ``(1 + W₀(e^(−1−α)))/β`` for the logistic curve. A given ``h`` serves every asset."""

    name = "symmetric"
    parameters = {
        "half_spread": Parameter(
            float, None, "each asset's myopic quote δ̃(0), 1/k", "distance of each quote from the mid [price]"
        ),
    }

    def __init__(self, world: Any, **params: Any) -> None:
        super().__init__(world, **params)
        given = self.params["half_spread"]
        myopic = [float(asset.best_response(0.0)) for asset in self.market.assets]
        self.half_spread = np.array(myopic) if given is None else np.full(self.market.n_assets, given)

    def quotes(self, inventory, time_to_close, volatility):
        offset = np.broadcast_to(self.half_spread, np.shape(inventory)).astype(np.float64)
        return offset, offset.copy()
