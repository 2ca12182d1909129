"""What training needs from evaluation, for each kind of world: a single-asset ``World`` or a ``Market``.

``arena_for(world)`` gives the kind's baselines, its view of a model being trained, a paired comparison
(metrics, TensorBoard scalars and the quotes figure) and the final report, so that ``train`` runs one loop
for every kind.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from envs import World
from envs.market import Market
from eval import plots
from eval.dealer import (
    DEALER_LAYOUT,
    DealerPlan,
    dealer_baselines,
    dealer_scalars,
    evaluate_dealer,
    evaluate_dealer_policies,
    publish_dealer,
)
from eval.evaluate import build_baselines, evaluate_policies
from eval.learned import LearnedPolicy
from eval.run import Job, evaluate_and_publish
from eval.specs import PolicySpec, parse_spec
from eval.tensorboard_output import LAYOUT_METRICS, scalar_metrics

Policies = dict[str, tuple[PolicySpec, Any]]


@dataclasses.dataclass
class Comparison:
    """One paired evaluation: metrics by label (as ``metrics.json`` holds them), their TensorBoard scalars,
    and the quotes figure."""

    metrics: dict[str, dict[str, Any]]
    scalars: dict[str, dict[str, float]]
    figure: Any


class MarketArena:
    """A single-asset ``World`` (``eval.evaluate``, ``eval.run``)."""

    layout = LAYOUT_METRICS  # the "learned vs baselines" TensorBoard tab

    def __init__(self, world: World) -> None:
        self.world = world

    def baselines(self, entries: tuple[str, ...]) -> Policies:
        """Baselines by spec text, as ``eval`` builds them (an unbuildable ``optimal`` skipped with a warning)."""
        return build_baselines(self.world, entries)

    def learned(self, model: Any, normalization: dict[str, Any] | None) -> LearnedPolicy:
        return LearnedPolicy(model, self.world, normalization)

    def compare(self, policies: Policies, episodes: int, seed: int, risk_aversion: float) -> Comparison:
        results = evaluate_policies(self.world, policies, episodes, seed, risk_aversion, warn=False)
        compared = plots.compared_policies(self.world, policies)
        visited = plots.visited_inventory(self.world, [result.rollout for result in results.values()])
        figure = plots.quotes_figure(self.world, compared, inventory_limit=visited)
        metrics = {label: result.metrics for label, result in results.items()}
        return Comparison(metrics, {label: scalar_metrics(m) for label, m in metrics.items()}, figure)

    def publish(
        self, out: Path, label: str, policies: Policies, episodes: int, seed: int, risk_aversion: float, title: str
    ) -> dict[str, Any]:
        """The final report (``eval.run.evaluate_and_publish``); returns ``metrics.json``'s document."""
        job = Job(label, self.world, policies)
        return evaluate_and_publish(out, [job], episodes, seed, risk_aversion, title, warn=False)


class DealerArena:
    """A ``Market`` (``eval.dealer``): its ladder, optimality scores where ``optimal`` fits, else gaps to the
    closed form. The dealer's metrics take no risk aversion (its reward already charges ``dt·qᵀΦq``)."""

    layout = DEALER_LAYOUT

    def __init__(self, dealer: Market) -> None:
        self.world = dealer
        self.note: str | None = None

    def baselines(self, entries: tuple[str, ...]) -> Policies:
        """Market baselines by name (``eval.dealer.dealer_policy_names``); an unbuildable ``optimal`` is left
        out with a warning and kept as the report's note."""
        specs = [parse_spec(entry) for entry in entries]
        bad = next((spec for spec in specs if spec.params or spec.name == "run"), None)
        if bad is not None:
            raise ValueError(f"dealer baselines take no parameters or run paths; got {bad.text!r}")
        built, self.note = dealer_baselines(self.world, [spec.name for spec in specs])
        return {spec.text: (spec, built[spec.name]) for spec in specs if spec.name in built}

    def learned(self, model: Any, normalization: dict[str, Any] | None) -> LearnedPolicy:
        return LearnedPolicy(model, self.world, normalization)

    def compare(self, policies: Policies, episodes: int, seed: int, risk_aversion: float) -> Comparison:
        quoting = {label: policy for label, (_, policy) in policies.items()}
        metrics = evaluate_dealer_policies(self.world, quoting, episodes, seed, risk_aversion)
        figure = plots.dealer_quotes_figure(self.world, quoting)
        return Comparison(metrics, {label: dealer_scalars(m) for label, m in metrics.items()}, figure)

    def publish(
        self, out: Path, label: str, policies: Policies, episodes: int, seed: int, risk_aversion: float, title: str
    ) -> dict[str, Any]:
        """The dealer's report (``eval.dealer.publish_dealer``); returns ``metrics.json``'s document."""
        plan = DealerPlan(label, self.world, {key: policy for key, (_, policy) in policies.items()}, self.note)
        document = evaluate_dealer(plan, episodes, seed, risk_aversion)
        publish_dealer(out, plan, document, title)
        return document


def arena_for(world: World | Market) -> MarketArena | DealerArena:
    """The arena of a world's kind."""
    return DealerArena(world) if isinstance(world, Market) else MarketArena(world)
