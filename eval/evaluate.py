"""Paired evaluation: every policy rolled out on the same episode streams of any market, then scored."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from baselines import list_policies, make_policy
from envs import Market, World, interface_of, market_keys
from envs.rollout import Rollout, rollout, rule_rollout
from eval.learned import load_learned
from eval.metrics import (
    DEFAULT_RISK_AVERSION,
    bootstrap_indices,
    optimality_score,
    paired_difference,
    rollout_metrics,
)
from eval.specs import PolicySpec, parse_spec

# The named comparators: where one is evaluated, every other policy gets ``vs_<reference>``, policy − reference.
REFERENCES = ("avellaneda_stoikov", "closed_form", "filtered_closed_form")
# The default ladder of a market (``ladder``), in the report's order.
LADDER = ("symmetric", "linear_skew", "avellaneda_stoikov", "per_asset", "closed_form", "optimal")
# A market with informed flow's: the ladder blind to the flow, the filter's closed form, the belief optimum and the
# full-information bound.
FLOW_LADDER = (
    "symmetric",
    "linear_skew",
    "avellaneda_stoikov",
    "closed_form",
    "filtered_closed_form",
    "optimal",
    "full_information",
)
# Where the optimum cannot be built, metrics carry this key with the reason, and the report prints it.
SCORE_NOTE = "optimality_score_unavailable"


# Rolls a policy out: (world, predict, episodes, seed, keep_paths=...) → Rollout.
Runner = Callable[..., Rollout]


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


def ladder(world: World | Market) -> tuple[str, ...]:
    """A market's default baselines: ``LADDER``; in a single-asset ``World`` ``linear_skew_calibrated`` for
    ``linear_skew`` and no ``per_asset`` (the closed form asset by asset is the closed form) nor ``closed_form``
    (GLFT's asymptotic form, which ``avellaneda_stoikov`` stands for); in any other one-asset market no
    ``per_asset``; with informed flow ``FLOW_LADDER``."""
    if isinstance(world, World):
        return ("symmetric", "linear_skew_calibrated", "avellaneda_stoikov", "optimal")
    if interface_of(world).market.flow.count > 1:
        return FLOW_LADDER
    if interface_of(world).market.n_assets == 1:  # a market file's asset, which a World may not hold
        return tuple(name for name in LADDER if name != "per_asset")
    return LADDER


def build_policy(spec: PolicySpec, world: World | Market, device: str = "cpu") -> Predictor:
    """A baseline from ``baselines.make_policy`` or a learned policy from ``run:PATH``."""
    if spec.name == "run":
        return load_learned(spec.path, world, device=device)
    return make_policy(spec.name, world, **spec.params)


def unbuildable(name: str, error: Exception) -> str:
    """The one wording, in ``train`` and ``eval`` alike, for a baseline that cannot be built."""
    consequence = "; no optimality score" if name == "optimal" else ""
    return f"{name} cannot be built for this world{consequence}: {error}"


def build_baselines(
    world: World | Market, entries: tuple[str, ...] | list[str], warn: bool = True
) -> tuple[dict[str, tuple[PolicySpec, Predictor]], list[str]]:
    """Baselines by spec text, and notes: a baseline named without parameters that this market cannot hold
    (``optimal`` beyond what it tabulates, ``avellaneda_stoikov`` on a logistic curve) is left out, its reason a
    note (and a warning unless ``warn`` is false); an unknown name or a bad parameter raises ``ValueError``."""
    built, notes = {}, []
    for entry in entries:
        spec = parse_spec(entry)
        try:
            built[spec.text] = (spec, build_policy(spec, world))
        except ValueError as error:
            if spec.name == "run" or spec.params or spec.name not in list_policies():
                raise
            notes.append(unbuildable(spec.name, error))
            if warn:
                warnings.warn(notes[-1], stacklevel=2)
    return built, notes


def world_record(world: World | Market) -> dict[str, Any]:
    """The world's fields as JSON-ready data, derived scales written in."""
    return json_ready(dataclasses.asdict(world.resolved()))


def json_ready(value: Any) -> Any:
    """Plain JSON data: string keys, lists for tuples, Python numbers for numpy scalars, ``None`` for NaN/inf."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def evaluate_policies(
    world: World | Market,
    policies: dict[str, tuple[PolicySpec, Predictor]],
    episodes: int,
    seed: int,
    risk_aversion: float = DEFAULT_RISK_AVERSION,
    keep_paths: bool = False,
    warn: bool = True,
    runner: Runner = rollout,
) -> dict[str, PolicyResult]:
    """Roll out every policy on episodes ``seed … seed + episodes − 1`` of ``world`` and score them.

    Adds ``optimality_score`` (and its CI) when ``optimal`` can be built for the world (otherwise
    ``optimality_score_unavailable`` with the reason, and a warning unless ``warn`` is false), and, for each of the
    ``REFERENCES`` evaluated, each other policy's paired reward difference to it, ``vs_<reference>``. ``runner``
    rolls a policy out (the simulator's ``envs.rollout.rollout``; ``eval.replay.replay_runner`` for recorded flow).
    """
    results: dict[str, PolicyResult] = {}
    for key, (spec, policy) in policies.items():
        outcome = rolled_out(world, policy, episodes, seed, runner, keep_paths)
        results[key] = PolicyResult(spec, policy, outcome, rollout_metrics(outcome, world, risk_aversion))
    indices = bootstrap_indices(episodes, seed)
    anchors = _anchor_rewards(world, results, episodes, seed, runner)
    if isinstance(anchors, str):
        if warn:
            warnings.warn(anchors, stacklevel=2)
        for result in results.values():
            result.metrics[SCORE_NOTE] = anchors
    else:
        symmetric, optimal = anchors
        for result in results.values():
            score = optimality_score(result.rollout.reward, symmetric, optimal, indices)
            result.metrics["optimality_score"] = score["score"]
            result.metrics["optimality_score_ci95"] = score["ci95"]
    for name in REFERENCES:
        reference = next((r for r in results.values() if r.spec.name == name), None)
        for result in results.values() if reference is not None else ():
            if result is not reference:
                result.metrics[f"vs_{name}"] = paired_difference(
                    result.rollout.reward, reference.rollout.reward, indices
                )
    return results


def _anchor_rewards(world, results, episodes, seed, runner) -> tuple[np.ndarray, np.ndarray] | str:
    """Episode rewards of default ``symmetric`` and ``optimal`` (reused if evaluated), or the reason
    the optimum cannot be built for this world."""
    rewards = {}
    for name in ("symmetric", "optimal"):
        existing = next((r for r in results.values() if r.spec.name == name and not r.spec.params), None)
        if existing is not None:
            rewards[name] = existing.rollout.reward
            continue
        try:
            policy = make_policy(name, world)
        except ValueError as error:
            return unbuildable(name, error)
        rewards[name] = rolled_out(world, policy, episodes, seed, runner).reward
    return rewards["symmetric"], rewards["optimal"]


def rolled_out(
    world: World | Market, policy: Predictor, episodes: int, seed: int, runner: Runner = rollout, keep_paths=False
) -> Rollout:
    """``policy``'s rollout on episodes ``seed … seed + episodes − 1`` by ``runner``, on its observations; a policy
    that reads the books' state beyond them (``baselines.Policy.reads_state``: the filtered belief over an informed
    flow, or the hidden flow state) deals as a rule on the simulator's state, on the same episodes' streams; a learned
    policy that observes the market through features of its own (``LearnedPolicy.observes``) is rolled out on them."""
    world = getattr(policy, "observes", None) or world
    if getattr(policy, "reads_state", False):
        if runner is not rollout:
            raise ValueError(f"{policy.name} quotes from the simulator's flow state, which recorded flow does not have")
        return rule_rollout(world, policy, market_keys(seed, episodes), keep_paths=keep_paths)
    return runner(world, lambda o: policy.predict(o, deterministic=True)[0], episodes, seed, keep_paths=keep_paths)
