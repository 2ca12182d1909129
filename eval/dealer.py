"""The dealer's evaluation: its baseline ladder on common random numbers, per-asset and portfolio metrics,
the optimality score (or, beyond two assets, the gap to the closed form), a report and the quotes figure.

``python -m eval --scenario two_assets`` and ``--scenario dealer`` run it on the presets of ``envs.dealer``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from baselines.dealer import DEALER_POLICIES, DealerPolicy
from baselines.dealer_optimal import DealerOptimal
from envs import market_keys
from envs.dealer import Dealer, make_dealer
from envs.dealer_core import DealerEpisodes, rollout
from eval import plots
from eval.files import atomic_write_bytes, atomic_write_json, atomic_write_text, staged
from eval.metrics import bootstrap_indices, mean_ci95, optimality_score, paired_difference

DEALER_SCENARIOS = ("two_assets", "dealer")


@dataclasses.dataclass
class DealerPlan:
    """A dealer and its policies by name; ``note`` says why the optimum is missing, if it is."""

    label: str
    dealer: Dealer
    policies: dict[str, DealerPolicy]
    note: str | None = None


def plan_dealer(preset: str) -> DealerPlan:
    """The preset's dealer with the ladder (``symmetric``, ``per_asset``, ``closed_form``) and ``optimal``
    where it can be tabulated (the reason it cannot is kept as the plan's note)."""
    dealer = make_dealer(preset)
    policies = {name: cls(dealer) for name, cls in DEALER_POLICIES.items()}
    note = None
    try:
        policies["optimal"] = DealerOptimal(dealer)
    except ValueError as error:
        note = f"no optimality score: {error}; scores are gaps to closed_form"
    return DealerPlan(preset, dealer, policies, note)


def episode_metrics(episodes: DealerEpisodes) -> dict[str, Any]:
    """Means over episodes: reward and its parts [price], and per asset fills, |inventory| and max |inventory|
    [lots]; ``net_risk_mean`` is ``√(qᵀΣq)`` averaged over the session [price/√time]."""
    return {
        "reward_mean": float(episodes.reward.mean()),
        "reward_std": float(episodes.reward.std()),
        "reward_ci95": mean_ci95(episodes.reward),
        "spread_captured": float(episodes.spread_captured.mean()),
        "inventory_pnl": float(episodes.inventory_pnl.mean()),
        "penalty": float(episodes.penalty.mean()),
        "net_risk_mean": float(episodes.mean_net_risk.mean()),
        "fills": episodes.fills.mean(axis=0).tolist(),
        "mean_abs_inventory": episodes.mean_abs_inventory.mean(axis=0).tolist(),
        "max_abs_inventory": episodes.max_abs_inventory.max(axis=0).tolist(),
    }


def evaluate_dealer(plan: DealerPlan, episodes: int, seed: int) -> dict[str, Any]:
    """Every policy on the same keys (episode i on seed + i); the document ``metrics.json`` holds."""
    keys = market_keys(seed, episodes)
    results = {name: rollout(plan.dealer, policy, keys) for name, policy in plan.policies.items()}
    indices = bootstrap_indices(episodes, seed)
    symmetric = results["symmetric"].reward
    reference = "optimal" if "optimal" in results else "closed_form"
    policies = {}
    for name, result in results.items():
        entry = episode_metrics(result)
        if reference == "optimal":
            entry["optimality_score"] = optimality_score(result.reward, symmetric, results["optimal"].reward, indices)
        entry[f"gap_to_{reference}"] = paired_difference(results[reference].reward, result.reward, indices)
        policies[name] = entry
    document = {
        "scenario": plan.label,
        "episodes": episodes,
        "seed": seed,
        "dealer": dataclasses.asdict(plan.dealer),
        "policies": policies,
        "note": plan.note,
    }
    if "optimal" in plan.policies:
        document["optimal_expected_reward"] = plan.policies["optimal"].expected_reward()
    return document


def report_text(document: dict[str, Any]) -> str:
    """``report.md``: one row per policy, then the note."""
    policies = document["policies"]
    score = "optimality_score" in next(iter(policies.values()))
    reference = "optimal" if score else "closed_form"
    header = ["policy", "reward [95 % CI]", "score (95 % CI)" if score else f"gap to {reference} (95 % CI)"]
    header += ["spread", "penalty", "net risk", "mean |q| per asset", "fills per asset"]
    lines = [
        f"# Dealer scenario `{document['scenario']}`",
        "",
        f"{document['episodes']} paired episodes from seed {document['seed']} (episode i on seed + i for every "
        "policy). Score: (J − J_symmetric)/(J_optimal − J_symmetric); gaps are paired differences [price].",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, entry in policies.items():
        if score:
            value = entry["optimality_score"]
            measure = f"{value['score']:.3f} ({value['ci95'][0]:.3f}–{value['ci95'][1]:.3f})"
        else:
            gap = entry["gap_to_closed_form"]
            measure = f"{gap['mean']:.4g} ({gap['ci95'][0]:.4g}–{gap['ci95'][1]:.4g})"
        lines.append(
            f"| {name} | {entry['reward_mean']:.4g} [{entry['reward_ci95'][0]:.4g}, {entry['reward_ci95'][1]:.4g}] | "
            f"{measure} | "
            f"{entry['spread_captured']:.4g} | {entry['penalty']:.4g} | {entry['net_risk_mean']:.3g} | "
            + ", ".join(f"{v:.2f}" for v in entry["mean_abs_inventory"])
            + " | "
            + ", ".join(f"{v:.1f}" for v in entry["fills"])
            + " |"
        )
    if "optimal_expected_reward" in document:
        lines += [
            "",
            f"The optimum's exact expected reward (backward induction): {document['optimal_expected_reward']:.4g}.",
        ]
    if document["note"]:
        lines += ["", document["note"]]
    lines += ["", "![quotes](quotes.png)", ""]
    return "\n".join(lines)


def publish_dealer(out: Path, plan: DealerPlan, document: dict[str, Any]) -> None:
    """Write ``metrics.json``, ``report.md`` and ``quotes.png`` into ``out``, whole or not at all."""
    with staged(out) as staging:
        atomic_write_json(staging / "metrics.json", document)
        atomic_write_text(staging / "report.md", report_text(document))
        figure = plots.dealer_quotes_figure(plan.dealer, plan.policies)
        atomic_write_bytes(staging / "quotes.png", plots.png_bytes(figure))
        plots.close(figure)
