"""The closed form of any market, with or without hedge instruments, and its per-asset comparator (ignoring
correlation): one family of closed forms, from one quadratic approximation of the value.

Bergault, Evangelista, Guéant & Vieira (2021), "Closed-form approximations in multi-asset market making"
(Applied Mathematical Finance 28(2)), §3–4, following Guéant (2017), "Optimal market making" (Applied Mathematical
Finance 24(2)), §4–6; the hedge instruments as Barzykin, Bergault & Guéant (2023), "Algorithmic market making in
dealer markets with hedging and market impact" (Mathematical Finance 33(1)). Each side's Hamiltonian
``H(p) = sup_δ f(δ)·(δ − p)`` is replaced by its expansion to second order at p = 0 (``h₁ = H'(0) = −f(δ̃(0))``,
``h₂ = H''(0)``, ``Asset.hamiltonian_curvature``), so that the value ``θ(t, x) = −xᵀA(t)x − xᵀB(t) − C(t)`` is
quadratic in the positions x (the quoted inventories, then the hedges that can trade). A hedge traded at rate v
costs ``η·v² + ψ·|v|``, and ``sup_v [v·∂θ/∂y − η·v²] = (∂θ/∂y)²/(4η)`` (ψ left out of the quadratic part). With
requests of size z at intensity ``λ_side·p_z``, ``θ(x) − θ(x ± z·eᵢ) ≈ ∓z·∂ᵢθ`` and the running penalty
``Φ = φ·R`` (``(γ/2)·Σ``), matching powers of x in the HJB equation gives, in τ = T − t,

    dA/dτ = Φ − A·M·A,   A(0) = α·R;        dB/dτ = −μ − A·(M·B + c),   B(0) = 0,

``M = diag(2·D₊, 1/η)``, ``D₊ᵢ = (λᵇᵢ + λᵃᵢ)·h₂ᵢ·m₁ᵢ`` (``m₁ = Σ p_z·z``, ``m₂ = Σ p_z·z²``) and, for a one-sided
flow, ``cᵢ = 2·(λᵇᵢ − λᵃᵢ)·(h₁ᵢ·m₁ᵢ + h₂ᵢ·Aᵢᵢ·m₂ᵢ)`` (0 for the hedges). Without a terminal penalty and with
balanced flow this is solved by one eigendecomposition: with ``S = (M^½·Φ·M^½)^½ = V·diag(s)·Vᵀ``,

    A(τ) = M^(−½)·S·tanh(S·τ)·M^(−½),     B(τ) = −M^(−½)·V·diag(tanh(s·τ)/s)·Vᵀ·M^½·μ

(``tanh(s·τ)/s`` read as τ where s = 0); otherwise A and B are integrated (``scipy.integrate.solve_ivp``) on the
step grid. φ is each regime's (``Market.running_penalty_levels``), so the coefficients are the regime's.

The policy trades first, then quotes at the post-trade positions:

- each hedge j: the dead-zone rate ``v = sign(p)·(|p| − ψ)₊/(2η)`` with ``p = ∂θ/∂yⱼ = −2(A·x)ⱼ − Bⱼ``, over one
  step ``u = v·dt``, never past the dead zone's edge (``|u| ≤ (|p| − ψ)₊/(2Aⱼⱼ)``), rounded to the lot and kept
  within ``±U`` and ``±Q₂``; a hedge with ``U = 0`` is no position of the value;
- each quoted asset i: the greedy best responses to the quadratic value, ``δ = δ̃ᵢ(p̄ + fee)`` at the
  size-weighted marginal ``p̄ᵇ = 2·(A·x)ᵢ + Aᵢᵢ·z̄ᵢ + Bᵢ``, ``p̄ᵃ = −2·(A·x)ᵢ + Aᵢᵢ·z̄ᵢ − Bᵢ``, ``z̄ᵢ = m₂/m₁``
  (``Asset.size_weighted_size``) and ``δ̃`` the curve's exact best response (``Asset.best_response``; through
  Lambert W for the logistic curve); no side that would pass the limit (``pull_at_limit``). Under the per-size
  quote rule each size z has its own quote at its own marginal ``(θ(x) − θ(x ± z·eᵢ))/z``, ``p̄`` with z in place
  of z̄ (BEGV 2021, the quotes δ(t, q, z) of §6), pulled where z would pass the limit.

Each asset's quotes lean on every position through the off-diagonal entries of A. With one exponential asset this
is GLFT's asymptotic closed form in the small-γ limit of its Hamiltonian (GLFT 2013, eq. 4.6–4.7), whose stationary
skew per lot is ``2·A₁₁ = √(φ/(k·A·e⁻¹))``. The adverse jump is not modelled (``optimal`` handles it exactly).
"""

from __future__ import annotations

import numpy as np
import scipy.integrate

from baselines.policy import MarketPolicy, flattening_limit, pull_at_limit
from baselines.quote_table import steps_to_close
from envs import World, round_to_lot
from envs.core import clip_trade
from envs.market import Market

# The smallest impact the closed form divides by [price·time/lot²]; a hedge with η = 0 trades at its U.
_MIN_IMPACT = 1e-12


class ClosedForm(MarketPolicy):
    """The closed form of any market (module docstring): quotes, and in a market with hedge instruments the
    hedge trades, from the quadratic approximation of the value."""

    name = "closed_form"

    def __init__(self, world: World | Market) -> None:
        super().__init__(world)
        market = self.market
        quiet = [i for i, asset in enumerate(market.assets) if asset.arrival_intensity <= 0]
        if quiet:
            raise ValueError(f"the closed form needs arrival_intensity > 0 on every asset; assets {quiet} have none")
        assets = market.assets
        self.traded = np.flatnonzero(market.hedge_column("max_trade") > 0)  # the hedges in the value
        d, sides = market.n_assets, np.array([asset.side_intensities for asset in assets])  # (d, 2)
        curvature = np.array([asset.hamiltonian_curvature() for asset in assets])
        first = np.array([asset.mean_size for asset in assets])
        second = np.array([asset.second_size_moment for asset in assets])
        self.weights = sides.sum(axis=1) * curvature * first  # D₊'s diagonal
        impact = np.maximum(market.hedge_column("impact")[self.traded], _MIN_IMPACT)
        self._m = np.concatenate([2.0 * self.weights, 1.0 / impact])
        kept = np.concatenate([np.arange(d), d + self.traded])
        self._risk = self._risk_matrix()[np.ix_(kept, kept)]
        self._drift = market.instrument_column("drift")[kept]
        imbalance = sides[:, 0] - sides[:, 1]
        slope = -np.array([asset.myopic_fill_chance for asset in assets])  # h₁
        self._c0 = 2.0 * imbalance * slope * first  # c without its A-dependent part
        self._c1 = 2.0 * imbalance * curvature * second
        self._sizes = np.array([asset.size_weighted_size for asset in assets])
        self._fee = market.column("fee")
        self._closed = market.penalty.terminal == 0.0 and not imbalance.any()
        levels = market.running_penalty_levels
        self._tables = None if self._closed else [self._integrated(level) for level in levels]
        self._spectra = [self._spectrum(level) for level in levels] if self._closed else None

    def _risk_matrix(self) -> np.ndarray:
        return self.market.risk_matrix

    def _spectrum(self, running_penalty: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        root = np.sqrt(self._m)
        values, vectors = np.linalg.eigh(root[:, None] * running_penalty * self._risk * root[None, :])
        return np.sqrt(np.clip(values, 0.0, None)), vectors / root[:, None], vectors.T @ (root * self._drift)

    def _integrated(self, running_penalty: float) -> tuple[np.ndarray, np.ndarray]:
        market, n = self.market, self._m.size
        d, penalty, m = market.n_assets, running_penalty * self._risk, self._m

        def derivative(_, y):
            a, b = y[: n * n].reshape(n, n), y[n * n :]
            c = np.zeros(n)
            c[:d] = self._c0 + self._c1 * np.diagonal(a)[:d]
            return np.concatenate([(penalty - a @ (m[:, None] * a)).ravel(), -self._drift - a @ (m * b + c)])

        tau = np.arange(market.n_steps + 1) * market.dt
        start = np.concatenate([(market.penalty.terminal * self._risk).ravel(), np.zeros(n)])
        solution = scipy.integrate.solve_ivp(
            derivative, (0.0, float(tau[-1])), start, t_eval=tau, rtol=1e-10, atol=1e-12, method="LSODA"
        )
        return solution.y[: n * n].T.reshape(-1, n, n), solution.y[n * n :].T

    def coefficients(
        self, time_to_close: np.ndarray, regime: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``A`` ``(n, k, k)`` [price/lot²] and ``B`` ``(n, k)`` [price/lot] over the k positions of the value (the
        assets, then the hedges that trade) at times to close τ ``(n,)`` [time] in regimes ``(n,)`` (``None``: the
        first): closed forms at any τ, or the integrated tables at the nearest step."""
        tau = np.asarray(time_to_close, dtype=np.float64)
        regime = np.zeros(tau.shape, dtype=np.int64) if regime is None else np.broadcast_to(regime, tau.shape)
        k = self._m.size
        a, b = np.empty((*tau.shape, k, k)), np.empty((*tau.shape, k))
        for level in np.unique(regime):  # one pass per regime, vectorized over the books
            rows = regime == level
            if self._tables is not None:
                steps = steps_to_close(self.market, tau[rows])
                a[rows], b[rows] = self._tables[level][0][steps], self._tables[level][1][steps]
                continue
            rates, left, drift = self._spectra[level]
            at = tau[rows][:, None]
            tanh = np.tanh(rates * at)
            a[rows] = np.einsum("ik,nk,jk->nij", left, rates * tanh, left)
            ratio = np.where(rates > 0, tanh / np.where(rates > 0, rates, 1.0), at)  # tanh(sτ)/s, τ at s = 0
            b[rows] = -np.einsum("ik,nk,k->ni", left, ratio, drift)
        return a, b

    def act(self, state):
        market, d = self.market, self.market.n_assets
        inventory = np.asarray(state["inventory"], dtype=np.float64)
        a, b = self.coefficients(state["time_to_close"], state.get("regime"))
        positions = [inventory]
        trade = None
        if market.n_hedges:
            held = np.asarray(state["hedge_position"], dtype=np.int64)
            trade = np.zeros_like(held)
            if self.traded.size:
                trade[:, self.traded] = self._hedge_trades(a, b, inventory, held[:, self.traded])
            positions.append((held + trade)[:, self.traded].astype(np.float64))
        x = np.concatenate(positions, axis=1)
        lean = 2.0 * np.einsum("nij,nj->ni", a[:, :d], x) + b[:, :d]
        if market.quote_buckets > 1:
            return (*self._size_quotes(a, lean, inventory), trade)
        base = np.diagonal(a, axis1=1, axis2=2)[:, :d] * self._sizes + self._fee
        bid, ask = np.empty_like(inventory), np.empty_like(inventory)
        for i, asset in enumerate(market.assets):  # a loop over assets, each vectorized over books
            bid[:, i] = asset.best_response(base[:, i] + lean[:, i])
            ask[:, i] = asset.best_response(base[:, i] - lean[:, i])
        return (*pull_at_limit(inventory, bid, ask, flattening_limit(market)), trade)

    def _size_quotes(self, a, lean, inventory) -> tuple[np.ndarray, np.ndarray]:
        """Per-size quotes ``(n, d, l)`` [price]: each size z at its marginal ``Aᵢᵢ·z ± lean + fee``, pulled where a
        fill of z would take ``|q|`` past Q."""
        market, d = self.market, self.market.n_assets
        sizes = market.size_table[0].astype(np.float64)  # (d, l)
        base = np.diagonal(a, axis1=1, axis2=2)[:, :d, None] * sizes + self._fee[:, None]  # (n, d, l)
        bid, ask = np.empty(base.shape), np.empty(base.shape)
        for i, asset in enumerate(market.assets):
            bid[:, i] = asset.best_response(base[:, i] + lean[:, i, None])
            ask[:, i] = asset.best_response(base[:, i] - lean[:, i, None])
        room = market.column("max_inventory")[:, None]
        held = inventory[..., None]
        return np.where(held + sizes > room, np.inf, bid), np.where(held - sizes < -room, np.inf, ask)

    def _hedge_trades(self, a, b, inventory, held) -> np.ndarray:
        """Each traded hedge's dead-zone trade [lots] before the step's quotes (module docstring)."""
        market, d = self.market, self.market.n_assets
        spread, impact, lots, limits, positions = (
            market.hedge_column(name)[self.traded]
            for name in ("spread_cost", "impact", "lot", "max_trade", "max_position")
        )
        x = np.concatenate([inventory, held.astype(np.float64)], axis=1)
        marginal = -2.0 * np.einsum("nij,nj->ni", a[:, d:], x) - b[:, d:]
        excess = np.maximum(np.abs(marginal) - spread, 0.0)
        with np.errstate(divide="ignore"):  # A_yy = 0 at the close: the rate alone bounds the trade
            reach = np.minimum(
                market.dt / (2.0 * np.maximum(impact, _MIN_IMPACT)), 0.5 / np.diagonal(a, axis1=1, axis2=2)[:, d:]
            )
        requested = round_to_lot(np.sign(marginal) * excess * reach, lots.astype(np.int64))
        return clip_trade(requested, held, limits.astype(np.int64), positions.astype(np.int64))

    def quotes(self, inventory, time_to_close, volatility):
        """The quotes at flat hedges in the first regime (``act`` reads each book's hedges and regime)."""
        n = np.shape(inventory)[0]
        state = {
            "inventory": np.asarray(inventory),
            "time_to_close": np.broadcast_to(np.asarray(time_to_close, dtype=np.float64), (n,)),
            "hedge_position": np.zeros((n, self.market.n_hedges), dtype=np.int64),
        }
        return self.act(state)[:2]


class PerAsset(ClosedForm):
    """The naive comparator: the closed form (GLFT's, for an exponential curve) applied asset by asset, each with
    its own variance and no correlation (R's off-diagonal set to 0): it never hedges, and only unwinds a hedge
    position it holds (its own risk)."""

    name = "per_asset"

    def _risk_matrix(self) -> np.ndarray:
        return np.diag(np.diag(self.market.risk_matrix))
