"""Informed flow's evidence and the maker's Bayesian filter over the hidden flow state (``envs.market.Flow``).

Under the ``"arrival"`` fill rule a side of asset i receives a request within a step with probability
``π_s = 1 − e^(−λ_side·tilt_s·dt)`` in flow state s (the public print), which then fills the maker's quote with
``f(δ)`` whatever the state: given the prints, the maker's own fills say nothing of the state. The mids move by
``r = dt·μ·z_s·1 + shock`` beyond their known parts (the assets' drift, the adverse jumps after fills), the shock
``N(0, s_r²·Σ·dt)`` over every instrument (Σ the covariance, ``s_r`` the regime's scale; the hedges' moves have no
flow drift but are correlated with the quoted assets'). Each step's likelihood of state s is therefore

    L_s = Π_{i, side} π_s^print·(1 − π_s)^(1 − print) · exp(a·z_s·c − ½·(z_s·c)²·e / s_r²),

with ``c = μ·dt``, ``a = wᵀr / s_r²``, ``w = Σ⁺·1_q / dt`` and ``e = 1_qᵀ·Σ⁺·1_q / dt`` (the Gaussian likelihood
ratio, its state-free factors dropped). The belief over the step's state is the prior times ``L``, normalized, and
the next step's prior is that times the chain's one-step transition (Wonham's filter in discrete time).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np

from envs.market import Market

# Floor on a print's probability inside a logarithm [dimensionless].
_TINY = 1e-300


@dataclasses.dataclass(frozen=True)
class FlowEvidence:
    """A market's flow constants, read by the core's filter and by ``baselines.flow_optimal``: ``print_chance`` (2, d, S) the chance of a print per side, asset and state, ``log_silence`` (S,) the log-chance
    of a step without any print, ``print_ratio`` (2, d, S) each print's log-likelihood ratio ``log π − log(1 − π)``,
    ``step_drift`` (S,) ``μ·z_s·dt`` [price], ``weights`` (d + m,)
    ``w`` and ``exposure`` ``e`` of the module docstring, ``transition`` (S, S) and ``opening`` (S,) the chain's
    one-step transition and stationary law."""

    print_chance: np.ndarray
    log_silence: np.ndarray
    print_ratio: np.ndarray
    step_drift: np.ndarray
    weights: np.ndarray
    exposure: float
    transition: np.ndarray
    opening: np.ndarray


@lru_cache(maxsize=64)
def flow_evidence(market: Market) -> FlowEvidence:
    """The constants of ``market``'s filter (cached per market)."""
    flow, d = market.flow, market.n_assets
    sides = np.array([asset.side_intensities for asset in market.assets]).T  # (2, d)
    print_chance = -np.expm1(-sides[:, :, None] * flow.tilts()[:, None, :] * market.dt)  # (2, d, S)
    precision = np.linalg.pinv(market.instrument_covariance)
    quoted = np.zeros(market.n_instruments)
    quoted[:d] = 1.0
    weights = precision @ quoted / market.dt
    directions = np.asarray(flow.directions, dtype=np.float64)
    log_silence = np.log(np.maximum(1.0 - print_chance, _TINY))
    return FlowEvidence(
        print_chance=print_chance,
        log_silence=log_silence.sum(axis=(0, 1)),
        print_ratio=np.log(np.maximum(print_chance, _TINY)) - log_silence,
        step_drift=flow.drift * directions * market.dt,
        weights=weights,
        exposure=float(quoted @ weights),
        transition=market.flow_step_transition,
        opening=market.stationary_flow_distribution,
    )


def log_likelihood(
    evidence: FlowEvidence, prints: np.ndarray, alignment: np.ndarray, regime_scale: np.ndarray | float = 1.0
) -> np.ndarray:
    """``log L_s`` up to a state-free constant, ``(S, *M)``: ``prints`` ``(2, d, *M)`` (0 or 1 per side and asset),
    ``alignment`` ``wᵀr`` ``M`` (the instruments' moves beyond their known parts projected on the flow's drift) and the regime's volatility scale ``s_r`` (``M`` or a
    number). State by state, a sum of rows: ``log(silence) + Σ prints·ratio + (c·a − ½c²·e)/s_r²``."""
    shape = np.broadcast_shapes(np.shape(prints)[2:], np.shape(alignment), np.shape(regime_scale))
    rows = np.empty((len(evidence.step_drift), *shape))
    scaled = alignment if np.ndim(regime_scale) == 0 and regime_scale == 1.0 else alignment / np.square(regime_scale)
    curvature = 0.5 * evidence.exposure / np.square(regime_scale)
    for state, drift in enumerate(evidence.step_drift):
        row = scaled * drift + (evidence.log_silence[state] - drift * drift * curvature)
        for side in range(2):
            for asset in range(evidence.print_ratio.shape[1]):
                row += prints[side, asset] * evidence.print_ratio[side, asset, state]
        rows[state] = row
    return rows


def posterior(belief: np.ndarray, log_likelihood_: np.ndarray) -> np.ndarray:
    """The belief over the step's state after its evidence, ``(S, *M)``: prior ``belief`` times ``e^(log L)``,
    normalized (the likelihood scaled by its largest state's first, so that none overflows or all underflow)."""
    largest = np.array(log_likelihood_[0])
    for row in log_likelihood_[1:]:
        np.maximum(largest, row, out=largest)
    weight = np.exp(log_likelihood_ - largest)
    weight = weight * belief
    total = np.array(weight[0])
    for row in weight[1:]:
        total += row
    weight /= total
    return weight


def predict(evidence: FlowEvidence, belief: np.ndarray) -> np.ndarray:
    """The next step's prior from this step's posterior ``(S, *M)``: ``Pᵀ·belief``."""
    return np.tensordot(evidence.transition.T, belief, axes=1)
