"""Rung 2: the Avellaneda–Stoikov (2008) quotes, with σ and T − t read from the observation."""

from __future__ import annotations

import numpy as np

from baselines.policy import POSITIVE, OneAssetPolicy, Parameter


def reservation_shift(inventory, risk_aversion: float, volatility, time_to_close) -> np.ndarray:
    """``s − r = q·γ·σ²·(T − t)`` [price] (Avellaneda & Stoikov 2008, eq. 3.6)."""
    return np.asarray(inventory, dtype=np.float64) * risk_aversion * np.square(volatility) * time_to_close


def optimal_spread(risk_aversion: float, volatility, time_to_close, fill_decay: float) -> np.ndarray:
    """Total spread ``γσ²(T − t) + (2/γ)·ln(1 + γ/k)`` [price] (Avellaneda & Stoikov 2008, eq. 3.18)."""
    gamma = risk_aversion
    return gamma * np.square(volatility) * time_to_close + (2.0 / gamma) * np.log1p(gamma / fill_decay)


class AvellanedaStoikov(OneAssetPolicy):
    """Quotes around the reservation price ``r = s − q·γ·σ²·(T − t)`` with the optimal total spread:
    ``δ_b = spread/2 + q·γσ²(T − t)``, ``δ_a = spread/2 − q·γσ²(T − t)``. A quote may cross the mid.
    A Taylor expansion valid near the close, not the exact optimum of its own model."""

    name = "avellaneda_stoikov"
    parameters = {
        "risk_aversion": Parameter(float, 0.1, "0.1", "γ, CARA risk aversion [1/price]", bound=POSITIVE),
    }

    def quotes(self, inventory, time_to_close, volatility):
        gamma = self.params["risk_aversion"]
        half = 0.5 * optimal_spread(gamma, volatility, time_to_close, self.world.fill_decay)
        shift = reservation_shift(inventory, gamma, volatility, time_to_close)
        return half + shift, half - shift
