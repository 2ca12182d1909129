"""Metrics of a rollout and paired statistics between policies.

The optimality score ``(J − J_symmetric)/(J_optimal − J_symmetric)`` normalizes a policy's mean reward
between symmetric quoting (0) and the exact optimum (1); confidence intervals are percentile bootstraps
over paired episodes (Efron & Tibshirani 1993, ch. 13); the certainty equivalent is the CARA one.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from envs import World
from envs.rollout import Rollout

Z_95 = 1.959963984540054
# CARA γ of the certainty-equivalent metric [1/price], the default of both eval and train.
DEFAULT_RISK_AVERSION = 0.1
BOOTSTRAP_SAMPLES = 1000
# Relative size below which J_optimal − J_symmetric counts as zero (symmetric quoting is optimal).
SCORE_GAP_TOLERANCE = 1e-6


def certainty_equivalent(pnl: np.ndarray, risk_aversion: float) -> float:
    """CARA certainty equivalent ``−(1/γ)·ln E[exp(−γ·W_T)]`` [price], computed stably."""
    return float(-(logsumexp(-risk_aversion * pnl) - np.log(pnl.size)) / risk_aversion)


def mean_ci95(values: np.ndarray) -> list[float]:
    """Normal-approximation 95 % confidence interval of the mean."""
    half = Z_95 * values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
    return [float(values.mean() - half), float(values.mean() + half)]


def outcome_metrics(reward: np.ndarray, pnl: np.ndarray, risk_aversion: float) -> dict[str, float | list[float]]:
    """The metrics every market reports from its episodes' rewards and P&L [price, ``(episodes,)``]:
    ``reward_mean``, ``reward_std``, ``reward_ci95``; ``pnl_mean``, ``pnl_std``, ``pnl_ci95`` (P&L: the change in
    wealth marked to the mids); ``sharpe`` (the P&L's mean over its spread, per session) and the CARA
    ``certainty_equivalent`` at ``risk_aversion`` γ [1/price]."""
    pnl_std = float(pnl.std(ddof=1)) if pnl.size > 1 else 0.0
    return {
        "reward_mean": float(reward.mean()),
        "reward_std": float(reward.std(ddof=1)) if reward.size > 1 else 0.0,
        "reward_ci95": mean_ci95(reward),
        "pnl_mean": float(pnl.mean()),
        "pnl_std": pnl_std,
        "pnl_ci95": mean_ci95(pnl),
        "sharpe": float(pnl.mean() / pnl_std) if pnl_std > 0 else 0.0,
        "certainty_equivalent": certainty_equivalent(pnl, risk_aversion),
    }


def rollout_metrics(result: Rollout, world: World, risk_aversion: float) -> dict[str, float | list[float]]:
    """The per-policy metrics of ``metrics.json`` from one rollout (means over episodes unless noted): the
    ``outcome_metrics``, and

    ``time_at_limit`` and ``two_sided_fraction`` are fractions of all steps; ``spread_mean`` is the
    average total spread ``δ_b + δ_a`` over two-sided steps; fills and the reward's parts
    (``spread_captured``, ``inventory_pnl``, ``fees``, ``penalty``: ``reward_mean`` = the first two minus
    the last two) are per episode; ``max_abs_inventory`` is the largest ``|q|`` of any episode.

    With a hedge instrument also (``hedge_metrics``): ``hedge_pnl`` and ``hedge_cost`` (the hedge leg's
    reward parts), ``hedge_volume`` [lots per episode], ``mean_abs_hedge`` [lots], ``hedge_ratio`` (the
    realized ratio ``Σq₁q₂ / Σq₁²`` over all steps; −ρσ₁/σ₂ is the minimum-variance hedge) and
    ``net_risk_mean`` (the mean ``√(qᵀRq)`` [lots of the quoted asset], to set against
    ``mean_abs_inventory``: how much price risk became basis risk).
    """
    mean_abs = float(result.mean_abs_inventory.mean())
    two_sided_steps = float(result.steps_two_sided.sum())
    final_inventory = result.final_inventory[:, 0]
    return {
        **outcome_metrics(result.reward, result.pnl, risk_aversion),
        "final_inventory_mean": float(final_inventory.mean()),
        "final_inventory_std": float(final_inventory.std(ddof=1)) if final_inventory.size > 1 else 0.0,
        "mean_abs_inventory": mean_abs,
        "max_abs_inventory": float(result.max_abs_inventory.max()),
        "max_abs_inventory_mean": float(result.max_abs_inventory.mean()),
        "pnl_to_map": float(result.pnl.mean() / mean_abs) if mean_abs > 0 else 0.0,
        "time_at_limit": float(result.steps_at_limit.mean() / world.n_steps),
        "two_sided_fraction": float(result.steps_two_sided.mean() / world.n_steps),
        "spread_mean": float(result.spread_sum.sum() / two_sided_steps) if two_sided_steps else float("nan"),
        "fills_bid": float(result.bid_fills.mean()),
        "fills_ask": float(result.ask_fills.mean()),
        **{name: float(total.mean()) for name, total in result.flows.items()},
        **hedge_metrics(result, world),
    }


def hedge_metrics(result: Rollout, world: World) -> dict[str, float]:
    """The hedge leg's metrics (see ``rollout_metrics``); empty without a hedge instrument."""
    if not result.mean_abs_hedge.shape[1]:
        return {}
    square = float(result.inventory_square.sum())
    return {
        "hedge_volume": float(result.hedge_volume.mean()),
        "mean_abs_hedge": float(result.mean_abs_hedge.mean()),
        "hedge_ratio": float(result.hedge_cross.sum() / square) if square > 0 else 0.0,
        "net_risk_mean": float(result.mean_net_risk.mean()),
    }


def bootstrap_indices(n: int, seed: int, samples: int = BOOTSTRAP_SAMPLES) -> np.ndarray:
    """Resampling indices ``(samples, n)`` from a fixed seed, shared by every paired statistic."""
    return np.random.default_rng(seed).integers(0, n, size=(samples, n), dtype=np.int32)


def paired_difference(a: np.ndarray, b: np.ndarray, indices: np.ndarray) -> dict[str, float | list[float]]:
    """Mean of ``a − b`` over paired episodes with a percentile-bootstrap 95 % CI."""
    difference = a - b
    means = difference[indices].mean(axis=1)
    return {
        "mean": float(difference.mean()),
        "ci95": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))],
    }


def optimality_score(
    reward: np.ndarray, symmetric: np.ndarray, optimal: np.ndarray, indices: np.ndarray
) -> dict[str, float | list[float]]:
    """``(J − J_symmetric) / (J_optimal − J_symmetric)`` on paired episodes, with a bootstrap 95 % CI.

    Undefined (NaN) where symmetric quoting is itself optimal, e.g. a risk-neutral world without
    penalty: the gap is then zero up to rounding and any ratio would be noise.
    """
    gap = optimal.mean() - symmetric.mean()
    if not gap > SCORE_GAP_TOLERANCE * (1.0 + abs(symmetric.mean())):
        return {"score": float("nan"), "ci95": [float("nan"), float("nan")]}
    score = float((reward.mean() - symmetric.mean()) / gap)
    resampled = (reward[indices].mean(1) - symmetric[indices].mean(1)) / (
        optimal[indices].mean(1) - symmetric[indices].mean(1)
    )
    return {"score": score, "ci95": [float(np.percentile(resampled, 2.5)), float(np.percentile(resampled, 97.5))]}
