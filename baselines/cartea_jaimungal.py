"""Cartea, Jaimungal & Penalva (2015), "Algorithmic and High-Frequency Trading", ch. 10: the optimal
risk-neutral market maker with a running inventory penalty φ and a terminal penalty α."""

from __future__ import annotations

import numpy as np

from baselines.matrix_solution import depth_table, log_solution, tridiagonal
from baselines.policy import NON_NEGATIVE, OneAssetPolicy, Parameter


class CarteaJaimungal(OneAssetPolicy):
    """Maximizes ``E[X_T + q_T(S_T − α·q_T) − φ∫q_u² du]`` with ``|q| ≤ Q`` (the world's limit):
    ``ω(τ) = expm(A_m·τ)·z``, ``A_m`` tridiagonal with diagonal ``−φκq²``, ``λ_bid·e^(−1)`` towards
    ``q + 1`` and ``λ_ask·e^(−1)`` towards ``q − 1``, ``z_q = e^(−ακq²)``; depths
    ``δ_a = 1/κ + (1/κ)·ln(ω_q/ω_{q−1})``, ``δ_b = 1/κ + (1/κ)·ln(ω_q/ω_{q+1})`` [price], κ = fill_decay.
    With φ = α = 0 both depths are 1/κ away from the bounds. Defaults read φ and α from the world.
    """

    name = "cartea_jaimungal"
    parameters = {
        "running_penalty": Parameter(
            float,
            lambda world: world.running_penalty,
            "world's running_penalty",
            "φ [price/(lot²·time)]",
            bound=NON_NEGATIVE,
        ),
        "terminal_penalty": Parameter(
            float,
            lambda world: world.terminal_penalty,
            "world's terminal_penalty",
            "α [price/lot²]",
            bound=NON_NEGATIVE,
        ),
    }

    def __init__(self, world, **params):
        super().__init__(world, **params)
        world = self.world  # a one-asset market arrives as its World
        phi, alpha, kappa = self.params["running_penalty"], self.params["terminal_penalty"], world.fill_decay
        q = np.arange(-world.max_inventory, world.max_inventory + 1, dtype=np.float64)
        bid_intensity, ask_intensity = world.market.assets[0].side_intensities
        generator = tridiagonal(-phi * kappa * q**2, bid_intensity * np.exp(-1.0), ask_intensity * np.exp(-1.0))
        log_omega = log_solution(generator, np.exp(-alpha * kappa * q**2), world)
        # ln(ω_q/ω_{q+1}) for the bid and ln(ω_q/ω_{q−1}) for the ask: the sign convention of depth_table.
        self._table = depth_table(world, log_omega, 1.0 / kappa, kappa)

    def quotes(self, inventory, time_to_close, volatility):
        return self._table.lookup(inventory, time_to_close)  # one σ-free solution for every regime
