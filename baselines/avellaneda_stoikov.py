"""Rung 2: the Avellaneda–Stoikov (2008) quotes in every market, asset by asset, with σ and T − t read from the
state."""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.policy import POSITIVE, MarketPolicy, Parameter, book_column, exponential_only


def reservation_shift(inventory, risk_aversion: float, volatility, time_to_close) -> np.ndarray:
    """``s − r = q·γ·σ²·(T − t)`` [price] (Avellaneda & Stoikov 2008, eq. 3.6)."""
    return np.asarray(inventory, dtype=np.float64) * risk_aversion * np.square(volatility) * time_to_close


def optimal_spread(risk_aversion: float, volatility, time_to_close, fill_decay) -> np.ndarray:
    """Total spread ``γσ²(T − t) + (2/γ)·ln(1 + γ/k)`` [price] (Avellaneda & Stoikov 2008, eq. 3.18)."""
    gamma = risk_aversion
    return gamma * np.square(volatility) * time_to_close + (2.0 / gamma) * np.log1p(gamma / fill_decay)


RISK_AVERSION = Parameter(float, 0.1, "0.1", "γ, CARA risk aversion [1/price] (A–S 2008's)", bound=POSITIVE)


class AvellanedaStoikov(MarketPolicy):
    """Each asset quoted around its reservation price ``r = s − q·γ·σ²·(T − t)`` with the optimal total spread:
    ``δ_b = spread/2 + q·γσ²(T − t)``, ``δ_a = spread/2 − q·γσ²(T − t)``, ignoring correlation, sizes and limits
    (the core refuses a fill past the limit). A quote may cross the mid. A Taylor expansion valid near the close,
    not the exact optimum of its own model. Exponential fill curves only (the paper's intensity ``A·e^(−kδ)``)."""

    name = "avellaneda_stoikov"
    parameters = {"risk_aversion": RISK_AVERSION}

    def __init__(self, world: Any, **params: Any) -> None:
        super().__init__(world, **params)
        exponential_only(self)

    def quotes(self, inventory, time_to_close, volatility):
        gamma, tau = self.params["risk_aversion"], book_column(time_to_close, inventory)
        half = 0.5 * optimal_spread(gamma, volatility, tau, self.market.column("fill_decay"))
        shift = reservation_shift(inventory, gamma, volatility, tau)
        return half + shift, half - shift
