"""Guéant, Lehalle & Fernandez-Tapia (2013), "Dealing with the inventory risk": the exact CARA optimum
with an inventory limit, and its asymptotic closed form."""

from __future__ import annotations

import numpy as np

from baselines.avellaneda_stoikov import RISK_AVERSION
from baselines.matrix_solution import depth_table, log_solution, tridiagonal
from baselines.policy import MarketPolicy, OneAssetPolicy, exponential_only
from baselines.quote_table import lookup_by_regime
from envs import regime_sigmas


def risk_premium(risk_aversion: float, fill_decay: float) -> float:
    """``(1/γ)·ln(1 + γ/k)`` [price], the depth a risk-averse maker adds to every quote (GLFT 2013)."""
    return np.log1p(risk_aversion / fill_decay) / risk_aversion


class GLFT(MarketPolicy):
    """The asymptotic closed form (GLFT 2013, eq. 4.6–4.7), asset by asset in any market, with
    ``c = √(σ²γ/(2kA)·(1 + γ/k)^(1 + k/γ))``:
    ``δ_b = (1/γ)ln(1 + γ/k) + (2q + 1)/2·c``, ``δ_a = (1/γ)ln(1 + γ/k) − (2q − 1)/2·c`` [price].

    With an adverse jump ξ the arrival rate is scaled by ``e^(−kξ/2)`` and both quotes widen by ξ/2
    (GLFT 2013, §6). σ is read from the state; A is each asset's per-side arrival intensity. Correlation, sizes
    and limits are ignored (``closed_form`` holds them). Exponential fill curves only.
    """

    name = "glft"
    parameters = {"risk_aversion": RISK_AVERSION}

    def __init__(self, world, **params):
        super().__init__(world, **params)
        exponential_only(self)

    def quotes(self, inventory, time_to_close, volatility):
        market, gamma = self.market, self.params["risk_aversion"]
        k, xi = market.column("fill_decay"), market.column("adverse_jump")
        intensity = market.column("arrival_intensity") * np.exp(-0.5 * k * xi)
        c = np.sqrt(np.square(volatility) * gamma / (2 * k * intensity) * (1 + gamma / k) ** (1 + k / gamma))
        base = risk_premium(gamma, k) + 0.5 * xi
        q = np.asarray(inventory, dtype=np.float64)
        return base + (2 * q + 1) / 2 * c, base - (2 * q - 1) / 2 * c


class GLFTExact(OneAssetPolicy):
    """The exact optimum of the CARA problem with ``|q| ≤ Q`` (GLFT 2013, Theorem 3.1):
    ``v(τ) = expm(−M·τ)·1``, M tridiagonal with diagonal ``α·q²`` and off-diagonals ``−η``,
    ``α = (k/2)·γ·σ²``, ``η = A·(1 + γ/k)^(−(1 + k/γ))``; ``δ_b = (1/k)·ln(v_q/v_{q+1}) + (1/γ)ln(1 + γ/k)``,
    ``δ_a = (1/k)·ln(v_q/v_{q−1}) + (1/γ)ln(1 + γ/k)``; no bid at ``q = Q``, no ask at ``q = −Q``.

    Q is the world's ``max_inventory``. With volatility regimes a table is solved per regime's σ and
    looked up by the observed σ.
    """

    name = "glft_exact"
    parameters = {"risk_aversion": RISK_AVERSION}

    def __init__(self, world, **params):
        super().__init__(world, **params)
        world = self.world  # a one-asset market arrives as its World
        gamma, k, limit = self.params["risk_aversion"], world.fill_decay, world.max_inventory
        q = np.arange(-limit, limit + 1, dtype=np.float64)
        eta = world.arrival_intensity * (1 + gamma / k) ** (-(1 + k / gamma))
        self._tables = []
        for sigma in regime_sigmas(world):
            alpha = 0.5 * k * gamma * sigma**2
            log_v = log_solution(-tridiagonal(alpha * q**2, -eta, -eta), np.ones_like(q), world)
            self._tables.append(depth_table(world, log_v, risk_premium(gamma, k), k))

    def quotes(self, inventory, time_to_close, volatility):
        return lookup_by_regime(self.world, self._tables, inventory, time_to_close, volatility)
