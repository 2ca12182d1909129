"""Aggregate statistics over training runs, after Agarwal, Schwarzer, Castro, Courville & Bellemare (2021),
"Deep reinforcement learning at the edge of the statistical precipice" (NeurIPS).

Scores come as a mapping ``world → array of per-run scores`` (the runs × worlds score matrix, allowing a
different number of finished runs per world). Aggregates pool every run of every world; confidence
intervals come from the *stratified* bootstrap, which resamples runs with replacement within each world
(their §A.2); the probability of improvement is the Mann–Whitney statistic averaged over worlds (§4.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy import stats

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
Scores = Mapping[str, np.ndarray]


def iqm(values: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50 % of the values (25 % trimmed from each end)."""
    return float(stats.trim_mean(np.asarray(values, dtype=np.float64), 0.25, axis=None))


AGGREGATES: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda values: float(np.mean(values)),
    "median": lambda values: float(np.median(values)),
    "iqm": iqm,
}


def _pooled(scores: Scores) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in scores.values()])


def stratified_bootstrap_ci(
    scores: Scores,
    aggregate: Callable[[np.ndarray], float],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``aggregate`` over the pooled runs, resampling runs within each world."""
    rng = np.random.default_rng(seed)
    worlds = [np.asarray(v, dtype=np.float64).ravel() for v in scores.values() if np.size(v)]
    if not worlds:
        return float("nan"), float("nan")
    estimates = np.empty(samples)
    for index in range(samples):
        resampled = [w[rng.integers(0, w.size, size=w.size)] for w in worlds]
        estimates[index] = aggregate(np.concatenate(resampled))
    tail = 100 * (1 - level) / 2
    return float(np.percentile(estimates, tail)), float(np.percentile(estimates, 100 - tail))


def summarize(scores: Scores, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> dict[str, object]:
    """n, and mean, median and IQM each with its 95 % stratified-bootstrap CI."""
    pooled = _pooled(scores) if scores else np.array([])
    summary: dict[str, object] = {"n": int(pooled.size)}
    for name, aggregate in AGGREGATES.items():
        if pooled.size == 0:
            summary[name], summary[f"{name}_ci95"] = float("nan"), [float("nan"), float("nan")]
            continue
        summary[name] = aggregate(pooled)
        summary[f"{name}_ci95"] = list(stratified_bootstrap_ci(scores, aggregate, samples, seed))
    return summary


def probability_of_improvement(x: Scores, y: Scores) -> float:
    """``P(X > Y)``: per world, the chance that a run of X scores above a run of Y (ties count half),
    averaged over the worlds both have runs in."""
    worlds = [w for w in x if w in y and np.size(x[w]) and np.size(y[w])]
    if not worlds:
        return float("nan")
    values = []
    for world in worlds:
        a = np.asarray(x[world], dtype=np.float64).ravel()[:, None]
        b = np.asarray(y[world], dtype=np.float64).ravel()[None, :]
        values.append(float(((a > b) + 0.5 * (a == b)).mean()))
    return float(np.mean(values))


def performance_profile(scores: Scores, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of all runs whose score exceeds each threshold τ (the run-score distribution, §4.1)."""
    pooled = _pooled(scores)
    return (pooled[None, :] > np.asarray(thresholds, dtype=np.float64)[:, None]).mean(axis=1)
