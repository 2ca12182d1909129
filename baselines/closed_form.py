"""The closed form of any market: the multi-asset closed form, its per-asset comparator (ignoring correlation)
and its hedged variant.

The closed form is Bergault, Evangelista, Guéant & Vieira (2021), "Closed-form approximations in multi-asset
market making" (Applied Mathematical Finance 28(2)), §3–4, following Guéant (2017), "Optimal market making"
(Applied Mathematical Finance 24(2)), §4–6. Each side's Hamiltonian
``H(p) = sup_δ f(δ)·(δ − p)`` is replaced by its expansion to second order at p = 0 (curvature
``α₂ = H''(0)``, ``Asset.hamiltonian_curvature``), so that the value ``θ(t, q) = −qᵀA(t)q − qᵀB(t) − C(t)`` is
quadratic in the inventory vector. With requests of size z at intensity ``λ·p_z`` and
``θ(q) − θ(q ± z·eᵢ) ≈ ∓z·∂ᵢθ``, matching powers of q in the HJB equation
``0 = ∂ₜθ + μᵀq − (γ/2)·qᵀΣq + Σᵢ Σ_sides Σ_z z·λᵢ·p_z·H(p)`` gives

    A′ = 2·A·D₊·A − (γ/2)·Σ,   A(T) = 0;        B′ = μ + 2·A·D₊·B,   B(T) = 0,

``D₊ = diag(2·λᵢ·α₂ᵢ·Σ_z p_z·z)`` (both sides). With τ = T − t and ``Â = √γ·(D₊^½·Σ·D₊^½)^½``:

    A(t) = ½·D₊^(−½)·Â·tanh(Â·τ)·D₊^(−½),     B(t) = −D₊^(−½)·Â⁻¹·tanh(Â·τ)·D₊^½·μ

(one eigendecomposition; ``Â⁻¹·tanh(Â·τ)`` is read as τ on a zero eigenvalue). The quotes are the greedy
best responses to the quadratic value: a side of asset i quoting one offset for every size maximizes
``f(δ)·Σ_z p_z·z·(δ − p_z)``, so ``δ = δ̃ᵢ(p̄)`` at the size-weighted marginal

    p̄ᵇ = 2·(A·q)ᵢ + Aᵢᵢ·z̄ᵢ + Bᵢ,     p̄ᵃ = −2·(A·q)ᵢ + Aᵢᵢ·z̄ᵢ − Bᵢ,

``z̄ᵢ = Σ p_z·z² / Σ p_z·z`` (``Asset.size_weighted_size``) and ``δ̃`` the curve's exact best response
(``Asset.best_response``; through Lambert W for the logistic curve). Each asset's quotes lean on every
asset's inventory through the off-diagonal entries of A. With d = 1 and the exponential curve this is
GLFT's asymptotic closed form in the small-γ limit of its Hamiltonian (GLFT 2013, eq. 4.6–4.7).
"""

from __future__ import annotations

import numpy as np

from baselines.policy import MarketPolicy, flattening_limit, pull_at_limit
from envs import World, round_to_lot
from envs.market import Market


class ClosedForm(MarketPolicy):
    """The multi-asset closed form of Bergault, Evangelista, Guéant & Vieira (2021) (module docstring)."""

    name = "closed_form"

    def __init__(self, world: World | Market) -> None:
        super().__init__(world)
        dealer = self.market
        quiet = [i for i, asset in enumerate(dealer.assets) if asset.arrival_intensity <= 0]
        if quiet:
            raise ValueError(f"the closed form needs arrival_intensity > 0 on every asset; assets {quiet} have none")
        curvature = np.array([asset.hamiltonian_curvature() for asset in dealer.assets])
        mean_size = np.array([asset.mean_size for asset in dealer.assets])
        self.weights = 2.0 * dealer.column("arrival_intensity") * curvature * mean_size  # D₊'s diagonal
        root = np.sqrt(self.weights)
        values, vectors = np.linalg.eigh(root[:, None] * self._covariance() * root[None, :])
        self.rates = np.sqrt(dealer.risk_aversion * np.clip(values, 0.0, None))  # Â's eigenvalues
        self._left = vectors / root[:, None]  # D₊^(−½)·V
        self._drift = vectors.T @ (root * dealer.column("drift"))  # Vᵀ·D₊^½·μ
        self._sizes = np.array([asset.size_weighted_size for asset in dealer.assets])

    def _covariance(self) -> np.ndarray:
        return self.market.covariance

    def coefficients(self, time_to_close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``A`` ``(n, d, d)`` [price/lot²] and ``B`` ``(n, d)`` [price/lot] at times to close τ ``(n,)``."""
        tau = np.asarray(time_to_close, dtype=np.float64)[..., None]
        rates = self.rates
        tanh = np.tanh(rates * tau)
        a = 0.5 * np.einsum("ik,nk,jk->nij", self._left, rates * tanh, self._left)
        safe = np.where(rates > 0, rates, 1.0)
        ratio = np.where(rates > 0, tanh / safe, tau)  # Â⁻¹·tanh(Âτ), τ on a zero eigenvalue
        b = -np.einsum("ik,nk,k->ni", self._left, ratio, self._drift)
        return a, b

    def quotes(self, inventory, time_to_close, volatility):
        inventory = np.asarray(inventory, dtype=np.float64)
        a, b = self.coefficients(np.broadcast_to(time_to_close, inventory.shape[:1]))
        lean = 2.0 * np.einsum("nij,nj->ni", a, inventory) + b
        base = np.diagonal(a, axis1=1, axis2=2) * self._sizes
        bid = np.empty_like(inventory)
        ask = np.empty_like(inventory)
        for i, asset in enumerate(self.market.assets):  # a loop over assets, each vectorized over books
            bid[:, i] = asset.best_response(base[:, i] + lean[:, i])
            ask[:, i] = asset.best_response(base[:, i] - lean[:, i])
        return pull_at_limit(inventory, bid, ask, flattening_limit(self.market))


class PerAsset(ClosedForm):
    """The naive comparator: the closed form (GLFT's, for an exponential curve) applied asset by asset,
    each with its own variance and no correlation (Σ's off-diagonal set to 0)."""

    name = "per_asset"

    def _covariance(self) -> np.ndarray:
        return np.diag(np.diag(self.market.covariance))


class ClosedFormHedged(ClosedForm):
    """The closed form for the risk the minimum-variance hedge leaves, plus that hedge: quotes as
    ``ClosedForm`` with Σ replaced by ``Market.residual_covariance`` (``Σ_qq − Σ_qh·Σ_hh⁺·Σ_hq``), and each step
    trades every hedge instrument toward ``H·q`` (``Market.min_variance_hedge``, rounded to its lot; the core
    clips the trade to ``±U`` and ``±Q₂``), whatever the trading costs (the dealer's ``full_hedge``,
    ``baselines.hedging``). The hedges' drift is ignored. With no hedge instruments it is ``ClosedForm``."""

    name = "closed_form_hedged"

    def _covariance(self) -> np.ndarray:
        return self.market.residual_covariance

    def act(self, state):
        bid, ask, _ = super().act(state)
        if not self.market.n_hedges:
            return bid, ask, None
        target = state["inventory"] @ self.market.min_variance_hedge.T
        lots = self.market.hedge_column("lot").astype(np.int64)
        return bid, ask, round_to_lot(target, lots) - state["hedge_position"]
