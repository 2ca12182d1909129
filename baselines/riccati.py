"""The closed-form quadratic approximation of the quote-and-hedge problem (rung 3's analytic baseline).

Bergault, Evangelista, Guéant & Vieira (2021), "Closed-form approximations in multi-asset market
making", Applied Mathematical Finance 28(2): approximate each side's Hamiltonian
``H(p) = sup_δ Λ(δ)(δ − p) = Λ(0)/(e·k)·e^(−k·p)`` by its second-order expansion at p = 0
(``α₂ = Λ(0)·k/e``, ``α₁ = −Λ(0)/e``), so that the value ``θ(t, q) = −qᵀA(t)q − B(t)ᵀq − C(t)`` is
quadratic in the positions ``q = (q₁, q₂)``. Barzykin, Bergault & Guéant (2023), "Algorithmic market
making in dealer markets with hedging and market impact", Mathematical Finance 33(1), add the hedge:
trading at rate v costs ``L(v) = η·v² + ψ·|v|``, and ``sup_v [v·∂θ/∂q₂ − η·v²] = (∂θ/∂q₂)²/(4η)`` (ψ left
out of the quadratic part). Matching powers of q in the HJB equation, with the running penalty
``Φ = φ·R = (γ/2)·Σ`` (``R = Σ/σ₁²``):

    A′ = 2·A·D₊·A + (1/η)·A·E₂₂·A − Φ,        A(T) = α·R,
    B′ = 2·[(α₂ᵇ − α₂ᵃ)·A₁₁ + (α₂ᵇ + α₂ᵃ)·B₁ + α₁ᵇ − α₁ᵃ]·A·e₁ + (B₂/η)·A·e₂,   B(T) = 0,

``D₊ = (α₂ᵇ + α₂ᵃ)·E₁₁``. With ``M = 2·D₊ + E₂₂/η`` and τ = T − t, ``dA/dτ = Φ − A·M·A``; when α = 0,
``Ã = M^½·A·M^½`` solves ``dÃ/dτ = Φ̃ − Ã²``, ``Ã(0) = 0``, whose solution is ``S·tanh(S·τ)`` with
``S = Φ̃^½``, ``Φ̃ = M^½·Φ·M^½`` (one eigendecomposition); otherwise A and B are integrated backward
(``scipy.integrate.solve_ivp``).

The policy trades first, then quotes at the post-trade positions:

- hedge: the dead-zone rate ``v = sign(p)·(|p| − ψ)₊/(2η)`` with ``p = ∂θ/∂q₂ = −2(Aq)₂ − B₂``, over one
  step ``u = v·dt``, never past the dead zone's edge (``|u| ≤ (|p| − ψ)₊/(2A₂₂)``), rounded to the hedge
  lot and clipped to ``U_max``;
- quotes: ``δ_b = δ̃(2(Aq)₁ + A₁₁ + B₁)``, ``δ_a = δ̃(−2(Aq)₁ + A₁₁ − B₁)`` with ``δ̃(p) = 1/k + p + fee``
  (the exact maximizer for exponential intensity); no bid at ``q₁ ≥ Q``, no ask at ``q₁ ≤ −Q``.

Without a hedge instrument (or with ``U_max = 0``) the problem is the scalar one, whose stationary skew
per lot, ``2·A₁₁ = √(φ/(k·A·e⁻¹))``, is GLFT's constant in the small-γ limit. The adverse jump is not
modelled (``optimal`` handles it exactly). φ is each regime's; a table of A, B is solved per regime.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.integrate

from baselines.policy import HedgingPolicy, pull_at_limit
from baselines.quote_table import steps_to_close
from envs import World, feasible_hedge_trade, round_to_hedge_lot

# The smallest impact the closed form divides by [price·time/lot²]; a world with η = 0 trades at U_max.
_MIN_IMPACT = 1e-12


def _impact(world: World) -> float:
    return max(world.hedge_impact, _MIN_IMPACT)


def riccati_coefficients(world: World, running_penalty: float, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A`` (``(steps, m, m)``) and ``B`` (``(steps, m)``) at times to close ``steps·dt``, m = 2 when the
    hedge can trade, else 1 (the quoted asset alone)."""
    m = 2 if world.hedged and world.hedge_max_trade > 0 else 1
    k = world.fill_decay
    sides = world.side_intensities  # (bid, ask)
    alpha2 = sides * k / math.e
    alpha1 = -sides / math.e
    weights = np.zeros(m)
    weights[0] = 2.0 * alpha2.sum()
    if m == 2:
        weights[1] = 1.0 / _impact(world)
    risk = world.risk_matrix[:m, :m]
    penalty = running_penalty * risk
    tau = steps * world.dt
    balanced = alpha2[0] == alpha2[1]
    if world.terminal_penalty == 0.0:
        root = np.sqrt(weights)
        values, vectors = np.linalg.eigh(root[:, None] * penalty * root[None, :])
        rate = np.sqrt(np.clip(values, 0.0, None))
        scaled = np.einsum("ij,tj,kj->tik", vectors, rate * np.tanh(np.outer(tau, rate)), vectors)
        a = scaled / np.outer(root, root)
        if balanced:
            return a, np.zeros((tau.size, m))

    def derivative(_, y):
        a_now, b_now = y[: m * m].reshape(m, m), y[m * m :]
        da = penalty - a_now @ (weights[:, None] * a_now)
        row = a_now[:, 0] * (
            2.0 * ((alpha2[0] - alpha2[1]) * a_now[0, 0] + alpha2.sum() * b_now[0] + alpha1[0] - alpha1[1])
        )
        db = -row - (a_now[:, 1] * b_now[1] * weights[1] if m == 2 else 0.0)
        return np.concatenate([da.ravel(), db])

    start = np.concatenate([(world.terminal_penalty * risk).ravel(), np.zeros(m)])
    solution = scipy.integrate.solve_ivp(
        derivative, (0.0, float(tau.max())), start, t_eval=tau, rtol=1e-10, atol=1e-12, method="LSODA"
    )
    a_path = solution.y[: m * m].T.reshape(-1, m, m)
    b_path = solution.y[m * m :].T
    if world.terminal_penalty == 0.0:  # the closed form's A, the integrated B
        a_path = a
    return a_path, b_path


class Riccati(HedgingPolicy):
    """Quotes and hedge trades from the quadratic approximation of the value (see the module docstring:
    Bergault, Evangelista, Guéant & Vieira 2021; Barzykin, Bergault & Guéant 2023)."""

    name = "riccati"
    parameters = {}

    def __init__(self, world: World, **params) -> None:
        super().__init__(world, **params)
        world = self.world  # a one-asset market arrives as its World
        steps = np.arange(world.n_steps + 1)
        solved = [riccati_coefficients(world, phi, steps) for phi in world.running_penalty_levels]
        self.a = np.stack([a for a, _ in solved])  # (regimes, steps to close, m, m)
        self.b = np.stack([b for _, b in solved])

    def decide(self, inventory, hedge_position, time_to_close, volatility):
        """Quotes [price] after the hedge trade [lots] at each state."""
        world = self.world
        steps_left, regime = steps_to_close(world, time_to_close), world.regime_of(volatility)
        q1 = np.asarray(inventory, dtype=np.float64)
        q2 = np.asarray(hedge_position, dtype=np.float64)
        q1, q2, steps_left, regime = np.broadcast_arrays(q1, q2, steps_left, regime)
        a, b = self.a[regime, steps_left], self.b[regime, steps_left]
        trade = np.zeros(q1.shape, dtype=np.int64)
        if a.shape[-1] == 2:
            p = -2.0 * (a[..., 1, 0] * q1 + a[..., 1, 1] * q2) - b[..., 1]
            excess = np.maximum(np.abs(p) - world.hedge_spread_cost, 0.0)
            reach = np.minimum(world.dt / (2.0 * _impact(world)), 1.0 / (2.0 * a[..., 1, 1]))
            trade = feasible_hedge_trade(world, round_to_hedge_lot(world, np.sign(p) * excess * reach), q2)
            skew = a[..., 0, 0] * q1 + a[..., 0, 1] * (q2 + trade)
        else:
            skew = a[..., 0, 0] * q1
        base = 1.0 / world.fill_decay + world.fee + a[..., 0, 0]
        bid = base + 2.0 * skew + b[..., 0]
        ask = base - 2.0 * skew - b[..., 0]
        bid, ask = pull_at_limit(q1, bid, ask, world.max_inventory)
        return bid, ask, trade
