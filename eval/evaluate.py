"""Paired evaluation: every policy rolled out on the same episode streams of a world, then scored."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np

from baselines import make_policy
from envs import World
from envs.rollout import Rollout, rollout
from eval.learned import load_learned
from eval.metrics import bootstrap_indices, optimality_score, paired_difference, rollout_metrics
from eval.specs import PolicySpec

REFERENCE = "avellaneda_stoikov"


class Predictor(Protocol):
    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, Any]: ...


@dataclasses.dataclass
class PolicyResult:
    """One policy in one world: its spec, rollout and metrics (``metrics.json`` entry)."""

    spec: PolicySpec
    policy: Predictor
    rollout: Rollout
    metrics: dict[str, Any]


def build_policy(spec: PolicySpec, world: World, device: str = "cpu") -> Predictor:
    """A baseline from ``baselines.make_policy`` or a learned policy from ``run:PATH``."""
    if spec.name == "run":
        return load_learned(spec.path, world, device=device)
    return make_policy(spec.name, world, **spec.params)


def world_record(world: World) -> dict[str, Any]:
    """The world's fields as JSON-ready data."""
    return json_ready(dataclasses.asdict(world))


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def evaluate_policies(
    world: World,
    policies: dict[str, tuple[PolicySpec, Predictor]],
    episodes: int,
    seed: int,
    risk_aversion: float = 0.1,
    keep_paths: bool = False,
) -> dict[str, PolicyResult]:
    """Roll out every policy on episodes ``seed … seed + episodes − 1`` of ``world`` and score them.

    Adds ``optimality_score`` (and its CI) when ``optimal`` can be built for the world, and, when a
    ``avellaneda_stoikov`` policy is present, each other policy's paired reward difference to it.
    """
    results: dict[str, PolicyResult] = {}
    for key, (spec, policy) in policies.items():
        outcome = rollout(
            world, lambda o, p=policy: p.predict(o, deterministic=True)[0], episodes, seed, keep_paths=keep_paths
        )
        results[key] = PolicyResult(spec, policy, outcome, rollout_metrics(outcome, world, risk_aversion))
    indices = bootstrap_indices(episodes, seed)
    anchors = _anchor_rewards(world, results, episodes, seed)
    if anchors is not None:
        symmetric, optimal = anchors
        for result in results.values():
            score = optimality_score(result.rollout.reward, symmetric, optimal, indices)
            result.metrics["optimality_score"] = score["score"]
            result.metrics["optimality_score_ci95"] = score["ci95"]
    reference = next((r for r in results.values() if r.spec.name == REFERENCE), None)
    if reference is not None:
        for result in results.values():
            if result is not reference:
                result.metrics[f"vs_{REFERENCE}"] = paired_difference(
                    result.rollout.reward, reference.rollout.reward, indices
                )
    return results


def _anchor_rewards(world, results, episodes, seed) -> tuple[np.ndarray, np.ndarray] | None:
    """Episode rewards of default ``symmetric`` and ``optimal`` (reused if evaluated), or None if
    the optimum cannot be built for this world."""
    rewards = {}
    for name in ("symmetric", "optimal"):
        existing = next((r for r in results.values() if r.spec.name == name and not r.spec.params), None)
        if existing is not None:
            rewards[name] = existing.rollout.reward
            continue
        try:
            policy = make_policy(name, world)
        except ValueError:
            return None
        rewards[name] = rollout(world, lambda o, p=policy: p.predict(o)[0], episodes, seed).reward
    return rewards["symmetric"], rewards["optimal"]
