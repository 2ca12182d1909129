"""The dealer's evaluation: its baseline ladder on common random numbers, per-asset and portfolio metrics,
the optimality score (or, beyond two assets, the paired difference to the closed form), a report and the quotes figure.

``python -m eval --scenario two_assets`` and ``--scenario dealer`` run it on the multi-asset presets (``envs.presets.MULTI_ASSET_PRESETS``).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter

from baselines import make_policy
from baselines.policy import MarketPolicy
from baselines.registry import ONE_ASSET, POLICIES
from envs import market_keys
from envs.market import Market
from envs.presets import MULTI_ASSET_PRESETS, make_market
from envs.rollout import Rollout, rule_rollout
from eval import plots
from eval.evaluate import json_ready, unbuildable
from eval.files import atomic_write_bytes, atomic_write_json, atomic_write_text, staged
from eval.metrics import (
    DEFAULT_RISK_AVERSION,
    bootstrap_indices,
    optimality_score,
    outcome_metrics,
    paired_difference,
)
from eval.tensorboard_output import custom_scalars_layout, log_metrics, run_name, scalar_metrics

DEALER_SCENARIOS = tuple(MULTI_ASSET_PRESETS)  # one scenario per dealer preset: its ladder on paired episodes
# The dealer's ladder, as training compares against it by default.
DEALER_BASELINES = ("symmetric", "linear_skew", "avellaneda_stoikov", "per_asset", "closed_form", "optimal")
# Per-asset metrics, logged to TensorBoard one scalar per asset (``<name>_<asset>``).
PER_ASSET = ("spread_captured_per_asset", "fills", "mean_abs_inventory", "max_abs_inventory", "mean_abs_hedge")
# The dealer's "learned vs baselines" TensorBoard tab.
DEALER_LAYOUT = (
    "reward_mean",
    "optimality_score",
    "spread_captured",
    "penalty",
    "net_risk_mean",
    "mean_abs_inventory_0",
)


def dealer_ladder(dealer: Market) -> tuple[str, ...]:
    """The dealer's baselines: ``DEALER_BASELINES``, and ``closed_form_hedged`` where it has hedge instruments."""
    return (*DEALER_BASELINES, "closed_form_hedged") if dealer.n_hedges else DEALER_BASELINES


def dealer_policy_names() -> list[str]:
    """Every baseline of a market of several assets."""
    return [name for name in POLICIES if name not in ONE_ASSET]


def make_dealer_policy(name: str, dealer: Market) -> MarketPolicy:
    """The dealer baseline called ``name`` (``ValueError`` naming the accepted ones, or why it cannot be built)."""
    if name not in dealer_policy_names():
        raise ValueError(f"unknown dealer policy {name!r}; accepted: {dealer_policy_names()}")
    return make_policy(name, dealer)


def dealer_baselines(dealer: Market, names: tuple[str, ...] | list[str], warn: bool = True):
    """``(policies by name, note)``. A known baseline that cannot be built for this dealer (``optimal`` beyond
    two assets, ``avellaneda_stoikov`` on a logistic curve) is left out, with the reason in the note (and a
    warning unless ``warn`` is false), worded as for a single-asset world (``unbuildable``); an unknown name
    raises ``ValueError``."""
    policies, notes = {}, []
    for name in names:
        if name not in dealer_policy_names():
            raise ValueError(f"unknown dealer policy {name!r}; accepted: {dealer_policy_names()}")
        try:
            policies[name] = make_dealer_policy(name, dealer)
        except ValueError as error:
            notes.append(unbuildable(name, error) + ("; scores are gaps to closed_form" if name == "optimal" else ""))
            if warn:
                warnings.warn(notes[-1], stacklevel=2)
    return policies, "\n\n".join(notes) or None


@dataclasses.dataclass
class DealerPlan:
    """A dealer and its policies by name; ``note`` says why the optimum is missing, if it is."""

    label: str
    dealer: Market
    policies: dict[str, MarketPolicy]
    note: str | None = None


def plan_dealer(preset: str) -> DealerPlan:
    """The preset's dealer with its ladder (``dealer_ladder``; the reason ``optimal`` cannot be built, if
    it cannot, is the plan's note)."""
    dealer = make_market(preset)
    policies, note = dealer_baselines(dealer, dealer_ladder(dealer), warn=False)
    return DealerPlan(preset, dealer, policies, note)


def episode_metrics(episodes: Rollout, risk_aversion: float) -> dict[str, Any]:
    """Means over episodes: the ``outcome_metrics`` (reward, P&L, Sharpe, certainty equivalent at
    ``risk_aversion``), the reward's parts [price] (spread captured, inventory P&L, penalty, fees), and per asset the
    spread captured [price], fills, |inventory| and max |inventory| [lots]; ``net_risk_mean`` is ``√(xᵀRx)`` over
    every position averaged over the session [lots of the first asset], as a single-asset world's with a hedge;
    with hedge instruments also ``hedge_pnl``, ``hedge_cost`` and per hedge ``mean_abs_hedge`` [lots]."""
    return {
        **outcome_metrics(episodes.reward, episodes.pnl, risk_aversion),
        **{name: float(total.mean()) for name, total in episodes.flows.items() if not name.startswith("hedge_")},
        "net_risk_mean": float(episodes.mean_net_risk.mean()),
        "spread_captured_per_asset": episodes.spread_by_asset.mean(axis=0).tolist(),
        "fills": (episodes.bid_fills + episodes.ask_fills).mean(axis=0).tolist(),
        "mean_abs_inventory": episodes.mean_abs_inventory.mean(axis=0).tolist(),
        "max_abs_inventory": episodes.max_abs_inventory.max(axis=0).tolist(),
        **(
            {
                "hedge_pnl": float(episodes.flows["hedge_pnl"].mean()),
                "hedge_cost": float(episodes.flows["hedge_cost"].mean()),
                "mean_abs_hedge": episodes.mean_abs_hedge.mean(axis=0).tolist(),
            }
            if episodes.mean_abs_hedge.shape[1]
            else {}
        ),
    }


def dealer_scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """The scalar metrics, each per-asset list spread into ``<name>_<asset>`` entries (for TensorBoard)."""
    scalars = scalar_metrics(metrics)
    for name in PER_ASSET:
        scalars.update({f"{name}_{i}": float(value) for i, value in enumerate(metrics.get(name, ()))})
    return scalars


def evaluate_dealer_policies(
    dealer: Market,
    policies: dict[str, MarketPolicy],
    episodes: int,
    seed: int,
    risk_aversion: float = DEFAULT_RISK_AVERSION,
) -> dict[str, dict[str, Any]]:
    """Every policy on the same keys (episode i on seed + i), metrics by name: ``episode_metrics``, and
    where ``symmetric`` and ``optimal`` are among them ``optimality_score`` (and ``optimality_score_ci95``),
    and the paired ``vs_optimal`` (else ``vs_closed_form``): policy − reference per episode [price], as a
    single-asset world's ``vs_avellaneda_stoikov``."""
    keys = market_keys(seed, episodes)
    results = {name: rule_rollout(dealer, policy, keys) for name, policy in policies.items()}
    indices = bootstrap_indices(episodes, seed)
    reference = next((name for name in ("optimal", "closed_form") if name in results), None)
    scored = "optimal" in results and "symmetric" in results
    metrics = {}
    for name, result in results.items():
        entry = episode_metrics(result, risk_aversion)
        if scored:
            score = optimality_score(result.reward, results["symmetric"].reward, results["optimal"].reward, indices)
            entry["optimality_score"], entry["optimality_score_ci95"] = score["score"], score["ci95"]
        if reference is not None:
            entry[f"vs_{reference}"] = paired_difference(result.reward, results[reference].reward, indices)
        metrics[name] = entry
    return metrics


def evaluate_dealer(
    plan: DealerPlan, episodes: int, seed: int, risk_aversion: float = DEFAULT_RISK_AVERSION
) -> dict[str, Any]:
    """The plan's policies on common random numbers; the document ``metrics.json`` holds (an undefined score,
    where ``optimal`` earns what ``symmetric`` does, is ``null``). ``risk_aversion``: the certainty equivalent's
    CARA γ [1/price]."""
    document = {
        "scenario": plan.label,
        "episodes": episodes,
        "seed": seed,
        "risk_aversion": risk_aversion,
        "dealer": plan.dealer.document(),
        "policies": evaluate_dealer_policies(plan.dealer, plan.policies, episodes, seed, risk_aversion),
        "note": plan.note,
    }
    if "optimal" in plan.policies:
        document["optimal_expected_reward"] = plan.policies["optimal"].expected_reward()
    return json_ready(document)


def report_text(document: dict[str, Any]) -> str:
    """``report.md``: one row per policy, then the note."""
    policies = document["policies"]
    score = "optimality_score" in next(iter(policies.values()))
    reference = "optimal" if score else "closed_form"
    header = ["policy", "reward [95 % CI]", "score (95 % CI)" if score else f"vs {reference} (95 % CI)"]
    header += ["spread", "penalty", "net risk", "mean |q| per asset", "fills per asset"]
    hedged = "hedge_cost" in next(iter(policies.values()))
    if hedged:
        header += ["hedge P&L", "hedge cost", "mean |hedge| per hedge"]
    lines = [
        f"# Market scenario `{document['scenario']}`",
        "",
        f"{document['episodes']} paired episodes from seed {document['seed']} (episode i on seed + i for every "
        "policy). Score: (J − J_symmetric)/(J_optimal − J_symmetric); vs: paired policy − reference per episode "
        "[price]; net risk: √(xᵀRx) [lots of the first asset].",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name, entry in policies.items():
        if score:
            low, high = entry["optimality_score_ci95"]
            measure = (
                "undefined (optimal earns what symmetric does)"
                if entry["optimality_score"] is None
                else f"{entry['optimality_score']:.3f} ({low:.3f}–{high:.3f})"
            )
        else:
            gap = entry["vs_closed_form"]
            measure = f"{gap['mean']:.4g} ({gap['ci95'][0]:.4g}–{gap['ci95'][1]:.4g})"
        lines.append(
            f"| {name} | {entry['reward_mean']:.4g} [{entry['reward_ci95'][0]:.4g}, {entry['reward_ci95'][1]:.4g}] | "
            f"{measure} | "
            f"{entry['spread_captured']:.4g} | {entry['penalty']:.4g} | {entry['net_risk_mean']:.3g} | "
            + ", ".join(f"{v:.2f}" for v in entry["mean_abs_inventory"])
            + " | "
            + ", ".join(f"{v:.1f}" for v in entry["fills"])
            + " |"
            + (
                f" {entry['hedge_pnl']:.4g} | {entry['hedge_cost']:.4g} | "
                + ", ".join(f"{v:.2f}" for v in entry["mean_abs_hedge"])
                + " |"
                if hedged
                else ""
            )
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


def publish_dealer(out: Path, plan: DealerPlan, document: dict[str, Any], title: str | None = None) -> None:
    """Write ``metrics.json``, ``report.md`` (under ``title``, if given), ``quotes.png`` and ``tb/`` (one
    TensorBoard run per policy, per-asset metrics as ``<name>_<asset>``, and the figure under ``tb/plots``)
    into ``out``, whole or not at all."""
    with staged(out) as staging:
        atomic_write_json(staging / "metrics.json", document)
        text = report_text(document)
        atomic_write_text(staging / "report.md", f"{title}\n\n{text}" if title else text)
        figure = plots.dealer_quotes_figure(plan.dealer, plan.policies)
        atomic_write_bytes(staging / "quotes.png", plots.png_bytes(figure))
        for name, metrics in document["policies"].items():
            with SummaryWriter(log_dir=str(staging / "tb" / run_name(name))) as writer:
                log_metrics(writer, dealer_scalars(metrics), 0)
        with SummaryWriter(log_dir=str(staging / "tb" / "plots")) as writer:
            writer.add_figure("plots/quotes", figure, 0, close=False)
            writer.add_custom_scalars(custom_scalars_layout(DEALER_LAYOUT))
        plots.close(figure)
