"""Evaluate policies in one or more worlds and publish metrics, report, plots and TensorBoard runs.

Everything is written into a staging folder beside ``out`` and moved in at the end, so an
interrupted or failed evaluation leaves nothing half-written in ``out``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from envs import Market, World, interface_of
from envs.rollout import rollout
from eval import plots
from eval.evaluate import PolicyResult, Predictor, Runner, evaluate_policies
from eval.files import atomic_write_bytes, atomic_write_json, staged
from eval.report import markdown_table, metrics_document, world_entry, write_reports
from eval.specs import PolicySpec
from eval.tensorboard_output import (
    custom_scalars_layout,
    layout_metrics,
    log_hparams,
    log_metrics,
    run_name,
    scalar_metrics,
)


@dataclasses.dataclass
class Job:
    """One world to evaluate: a label for reports, the world, and policies keyed by spec text."""

    label: str
    world: World | Market
    policies: dict[str, tuple[PolicySpec, Predictor]]
    notes: tuple[str, ...] = ()  # why a requested baseline is missing (``build_baselines``)
    runner: Runner = rollout  # the simulator, or recorded flow (``eval.replay.replay_runner``)
    replay: dict | None = None  # with recorded flow: its source and fill rule, for the report


def check_writable(out: Path) -> None:
    """Fail early, naming the folder, if ``out`` cannot be created or written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as error:
        raise ValueError(f"output folder {out} cannot be written: {error.strerror or error}") from None


def evaluate_and_publish(
    out: Path, jobs: list[Job], episodes: int, seed: int, risk_aversion: float, title: str, warn: bool = True
) -> dict:
    """Run every job and publish ``metrics.json``, ``metrics.csv``, ``report.md``, ``episode_rewards.json``,
    PNGs and ``tb/`` into ``out`` (``warn``: as in ``evaluate_policies``)."""
    check_writable(out)
    with staged(out) as staging:
        entries, plot_files, episode_rewards = [], [], {}
        for job in jobs:
            results = evaluate_policies(
                job.world, job.policies, episodes, seed, risk_aversion, keep_paths=True, warn=warn, runner=job.runner
            )
            entries.append(world_entry(job.label, job.world, results, job.notes, job.replay))
            episode_rewards[job.label] = {key: result.rollout.reward.tolist() for key, result in results.items()}
            prefix = "" if len(jobs) == 1 else f"{run_name(job.label)}-"
            figures = _figures(job.world, results)
            for name, figure in figures.items():
                path = f"{prefix}{name}.png"
                atomic_write_bytes(staging / path, plots.png_bytes(figure))
                plot_files.append(path)
            _write_tensorboard(staging / "tb" / (run_name(job.label) if len(jobs) > 1 else ""), results, figures)
            for figure in figures.values():
                plots.close(figure)
        document = metrics_document(entries, episodes, seed, risk_aversion)
        # Per-episode rewards (episode i on seed + i for every policy), for paired statistics of one's own.
        atomic_write_json(
            staging / "episode_rewards.json",
            next(iter(episode_rewards.values())) if len(jobs) == 1 else episode_rewards,
        )
        write_reports(staging, document, entries, plot_files, title)
        with SummaryWriter(log_dir=str(staging / "tb" / "report")) as writer:
            for entry in entries:
                writer.add_text(f"table/{run_name(entry['label'])}", markdown_table(entry), 0)
            writer.add_custom_scalars(custom_scalars_layout(layout_metrics(jobs[0].world)))
    return document


def _figures(world: World | Market, results: dict[str, PolicyResult]) -> dict:
    rollouts = {key: result.rollout for key, result in results.items()}
    policies = {key: (r.spec, r.policy) for key, r in results.items()}
    quotes = plots.comparison_quotes_figure(world, policies, list(rollouts.values()))
    pnl = plots.histogram_figure(rollouts, "pnl", "P&L marked to mids [price]")
    if not isinstance(world, World):
        figures = {"pnl_histogram": pnl, "quotes": quotes}
        market = interface_of(world).market
        if market.flow.count > 1:
            figures["belief_path"] = plots.belief_path_figure(market)
        return figures
    figures = {
        "inventory_paths": plots.inventory_paths_figure(world, rollouts),
        "pnl_histogram": pnl,
        "final_inventory_histogram": plots.histogram_figure(rollouts, "final_inventory", "final inventory [lots]"),
        "quotes": quotes,
    }
    if world.hedged:
        compared = plots.compared_policies(world, policies)
        visited = plots.visited_inventory(world, list(rollouts.values()))
        figures["hedge_position"] = plots.hedge_figure(world, compared, visited)
        figures["hedged_quotes"] = plots.hedged_quotes_figure(world, compared, visited)
    return figures


@dataclasses.dataclass
class Comparison:
    """One paired evaluation during training: metrics by label (as ``metrics.json`` holds them), their
    TensorBoard scalars, and the quotes figure."""

    metrics: dict[str, dict]
    scalars: dict[str, dict[str, float]]
    figure: object


def compare(
    world: World | Market,
    policies: dict[str, tuple[PolicySpec, Predictor]],
    episodes: int,
    seed: int,
    risk_aversion: float,
) -> Comparison:
    """Every policy on the same episodes (``evaluate_policies``, no warnings), with the quotes figure."""
    results = evaluate_policies(world, policies, episodes, seed, risk_aversion, warn=False)
    figure = plots.comparison_quotes_figure(world, policies, [result.rollout for result in results.values()])
    metrics = {label: result.metrics for label, result in results.items()}
    return Comparison(metrics, {label: scalar_metrics(m) for label, m in metrics.items()}, figure)


def _write_tensorboard(folder: Path, results: dict[str, PolicyResult], figures: dict) -> None:
    for key, result in results.items():
        with SummaryWriter(log_dir=str(folder / run_name(key))) as writer:
            log_metrics(writer, result.metrics, 0)
            log_hparams(writer, {"policy": result.spec.name, **result.spec.params}, result.metrics)
    with SummaryWriter(log_dir=str(folder / "plots")) as writer:
        for name, figure in figures.items():
            writer.add_figure(f"plots/{name}", figure, 0, close=False)
