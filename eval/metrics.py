"""Metrics of a rollout and paired statistics between policies.

The optimality score ``(J − J_symmetric)/(J_optimal − J_symmetric)`` normalizes a policy's mean reward
between symmetric quoting (0) and the exact optimum (1); confidence intervals are percentile bootstraps
over paired episodes (Efron & Tibshirani 1993, ch. 13); the certainty equivalent is the CARA one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import logsumexp

from envs import interface_of
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


@dataclasses.dataclass(frozen=True)
class Metric:
    """One metric of ``metrics.json``, defined once: its unit, scope (``portfolio``: one value per book; ``asset``
    and ``hedge``: one per asset or hedge, named ``<name>_<i>`` in a market of several, bare with one) and the
    better direction (``max``, ``min`` or ``None``); a comparison ``vs_<reference>`` is always policy − reference
    per paired episode [price]."""

    unit: str
    scope: str
    better: Callable[..., float] | None
    doc: str
    shown: bool = True  # a column of the report's table


# Every metric, in the order of the report's table.
METRICS: dict[str, Metric] = {
    "reward_mean": Metric("price", "portfolio", max, "the env's objective summed over a session"),
    "reward_std": Metric("price", "portfolio", min, "its spread over episodes"),
    "pnl_mean": Metric("price", "portfolio", max, "the change in wealth marked to the mids"),
    "pnl_std": Metric("price", "portfolio", min, "its spread over episodes"),
    "sharpe": Metric("1", "portfolio", max, "pnl_mean / pnl_std, per session"),
    "certainty_equivalent": Metric("price", "portfolio", max, "CARA, at the evaluation's risk aversion"),
    "final_inventory_mean": Metric("lots", "asset", None, "inventory at the close", shown=False),
    "final_inventory_std": Metric("lots", "asset", min, "its spread over episodes"),
    "mean_abs_inventory": Metric("lots", "asset", min, "|q| averaged over the session"),
    "max_abs_inventory": Metric("lots", "asset", min, "the largest |q| of any episode"),
    "max_abs_inventory_mean": Metric("lots", "asset", min, "each episode's largest |q|, averaged"),
    "pnl_to_map": Metric("price/lot", "portfolio", None, "pnl_mean / mean_abs_inventory (one asset)", shown=False),
    "time_at_limit": Metric("1", "asset", min, "fraction of steps at the inventory limit"),
    "two_sided_fraction": Metric("1", "asset", None, "fraction of steps quoting both sides", shown=False),
    "spread_mean": Metric("price", "asset", None, "δ_b + δ_a averaged over two-sided steps"),
    "fills_bid": Metric("lots", "asset", None, "bid fills per episode"),
    "fills_ask": Metric("lots", "asset", None, "ask fills per episode"),
    "spread_captured": Metric("price", "asset", max, "spread captured per episode (a part of the reward)", shown=False),
    "hedge_volume": Metric("lots", "hedge", None, "Σ|u| traded per episode"),
    "mean_abs_hedge": Metric("lots", "hedge", None, "|hedge position| averaged over the session"),
    "hedge_ratio": Metric("1", "portfolio", None, "Σq₁q₂ / Σq₁² (one asset, one hedge)"),
    "net_risk_mean": Metric("lots of the first asset", "portfolio", min, "√(xᵀRx) over every position, averaged"),
    "optimality_score": Metric("1", "portfolio", max, "(J − J_symmetric) / (J_optimal − J_symmetric)"),
}


def metric_names(name: str, count: int) -> list[str]:
    """The entries of metric ``name`` in a market of ``count`` assets (or hedges): ``name`` alone for one,
    ``name_0 … name_{count−1}`` for several."""
    return [name] if count == 1 else [f"{name}_{i}" for i in range(count)]


def rollout_metrics(result: Rollout, world: Any, risk_aversion: float) -> dict[str, float | list[float]]:
    """The per-policy metrics of ``metrics.json`` from one rollout of any market (``METRICS``; means over episodes
    unless noted): the ``outcome_metrics``; per asset (``metric_names``) the inventory, limit, quoting and fill
    metrics (``time_at_limit`` and ``two_sided_fraction`` are fractions of all steps; ``spread_mean`` the average
    total spread over two-sided steps; ``max_abs_inventory`` the largest ``|q|`` of any episode); the reward's
    parts (``spread_captured``, ``inventory_pnl``, ``fees``, ``penalty``, and with hedges ``hedge_pnl`` and
    ``hedge_cost``: ``reward_mean`` is their sum with their signs); per hedge ``hedge_volume`` and
    ``mean_abs_hedge``; ``net_risk_mean`` wherever the book holds more than one instrument (to set against
    ``mean_abs_inventory``: how much price risk became basis risk); ``hedge_ratio`` with one asset and one hedge
    (−ρσ₁/σ₂ is the minimum-variance hedge).
    """
    n_steps = interface_of(world).market.n_steps
    assets, hedges = result.final_inventory.shape[1], result.mean_abs_hedge.shape[1]
    two_sided = result.steps_two_sided.sum(axis=0)
    per_asset = {
        "final_inventory_mean": _columns(result.final_inventory, np.mean),
        "final_inventory_std": _columns(result.final_inventory, _std),
        "mean_abs_inventory": _columns(result.mean_abs_inventory, np.mean),
        "max_abs_inventory": _columns(result.max_abs_inventory, np.max),
        "max_abs_inventory_mean": _columns(result.max_abs_inventory, np.mean),
        "time_at_limit": [value / n_steps for value in _columns(result.steps_at_limit, np.mean)],
        "two_sided_fraction": [value / n_steps for value in _columns(result.steps_two_sided, np.mean)],
        "spread_mean": [
            float(total / count) if count else float("nan")
            for total, count in zip(result.spread_sum.sum(axis=0), two_sided, strict=True)
        ],
        "fills_bid": _columns(result.bid_fills, np.mean),
        "fills_ask": _columns(result.ask_fills, np.mean),
    }
    if assets > 1:
        per_asset["spread_captured"] = _columns(result.spread_by_asset, np.mean)  # the flow is their sum
    metrics: dict[str, Any] = dict(outcome_metrics(result.reward, result.pnl, risk_aversion))
    for name, values in per_asset.items():
        metrics.update(zip(metric_names(name, assets), values, strict=True))
        if name == "max_abs_inventory_mean" and assets == 1:
            mean_abs = metrics["mean_abs_inventory"]
            metrics["pnl_to_map"] = float(result.pnl.mean() / mean_abs) if mean_abs > 0 else 0.0
    metrics.update({name: float(total.mean()) for name, total in result.flows.items()})
    if hedges:
        metrics.update(zip(metric_names("hedge_volume", hedges), _columns(result.hedge_volume, np.mean), strict=True))
        metrics.update(
            zip(metric_names("mean_abs_hedge", hedges), _columns(result.mean_abs_hedge, np.mean), strict=True)
        )
    if assets == 1 and hedges == 1:
        square = float(result.inventory_square.sum())
        metrics["hedge_ratio"] = float(result.hedge_cross.sum() / square) if square > 0 else 0.0
    if assets + hedges > 1:
        metrics["net_risk_mean"] = float(result.mean_net_risk.mean())
    return metrics


def _columns(values: np.ndarray, reduce: Callable[[np.ndarray], Any]) -> list[float]:
    return [float(reduce(column)) for column in values.T]


def _std(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


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
