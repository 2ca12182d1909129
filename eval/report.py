"""``metrics.json``, ``metrics.csv`` and ``report.md`` from evaluated policies."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from envs.batch import CASH_FLOWS, HEDGE_FLOWS
from eval.evaluate import REFERENCES, SCORE_NOTE, PolicyResult, json_ready, world_record
from eval.files import atomic_write_json, atomic_write_text
from eval.metrics import METRICS

SCHEMA = "mm-inventory/metrics/v1"


def world_entry(
    label: str, world, results: dict[str, PolicyResult], notes: tuple[str, ...] = (), replay: dict | None = None
) -> dict[str, Any]:
    """One world's part of ``metrics.json``: its fields, each policy's spec and metrics, the notes on baselines
    left out, where ``optimal`` was evaluated its exact expected reward (backward induction), where
    ``full_information`` was too its exact value and the value of the information the maker lacks (the difference),
    and for a replay on recorded flow its source and fill rule (``replay``)."""
    entry = {
        "label": label,
        "world": world_record(world),
        "policies": {key: {"spec": r.spec.as_dict(), **json_ready(r.metrics)} for key, r in results.items()},
        "notes": list(notes),
    }
    if replay is not None:
        entry["replay"] = replay
    optimal = next((r.policy for r in results.values() if r.spec.name == "optimal"), None)
    if optimal is not None:
        entry["optimal_expected_reward"] = optimal.expected_reward()
    informed = next((r.policy for r in results.values() if r.spec.name == "full_information"), None)
    if informed is not None:
        entry["full_information_expected_reward"] = informed.expected_reward()
        if optimal is not None:
            entry["information_value"] = entry["full_information_expected_reward"] - entry["optimal_expected_reward"]
    return entry


def metrics_document(worlds: list[dict[str, Any]], episodes: int, seed: int, risk_aversion: float) -> dict[str, Any]:
    """The ``metrics.json`` document: one world's entry at the top level, several under ``worlds``."""
    header = {"schema": SCHEMA, "episodes": episodes, "seed": seed, "risk_aversion": risk_aversion}
    if len(worlds) == 1:
        return {**header, **worlds[0]}
    return {**header, "worlds": {entry["label"]: entry for entry in worlds}}


def csv_text(worlds: list[dict[str, Any]]) -> str:
    scalar_keys: list[str] = []
    for entry in worlds:
        for metrics in entry["policies"].values():
            for key, value in metrics.items():
                if isinstance(value, (int, float)) and key not in scalar_keys:
                    scalar_keys.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["world", "policy", *scalar_keys])
    for entry in worlds:
        for spec, metrics in entry["policies"].items():
            writer.writerow([entry["label"], spec, *(metrics.get(key, "") for key in scalar_keys)])
    return buffer.getvalue()


def markdown_table(entry: dict[str, Any]) -> str:
    """One world's policies as a Markdown table, the best value per column in bold."""
    policies = entry["policies"]
    present = {
        key for metrics in policies.values() for key, value in metrics.items() if isinstance(value, (int, float))
    }
    order = {name: index for index, name in enumerate(METRICS)}
    better = {}
    for column in sorted(present, key=lambda key: (order.get(metric_of(key), len(order)), key)):
        metric = METRICS.get(metric_of(column))
        if metric is not None and metric.shown:
            better[column] = metric.better
    columns = list(better)
    best = {}
    for column in columns:
        values = [m[column] for m in policies.values() if isinstance(m.get(column), (int, float))]
        if better[column] is not None and len(values) > 1:
            best[column] = better[column](values)
    lines = ["| policy | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for spec, metrics in policies.items():
        cells = []
        for column in columns:
            value = metrics.get(column)
            text = "—" if not isinstance(value, (int, float)) else f"{value:.4g}"
            cells.append(f"**{text}**" if column in best and value == best[column] else text)
        lines.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metric_of(column: str) -> str:
    """The ``METRICS`` name of a column: itself, or without the asset's (hedge's) index, ``fills_bid_1``."""
    base, _, index = column.rpartition("_")
    return base if index.isdigit() and base in METRICS and METRICS[base].scope != "portfolio" else column


def decomposition_table(entry: dict[str, Any]) -> str:
    """Each policy's mean episode reward, part by part: it is the sum of the parts with their signs."""
    hedged = any("hedge_pnl" in metrics for metrics in entry["policies"].values())
    flows = {**CASH_FLOWS, **HEDGE_FLOWS} if hedged else CASH_FLOWS
    header = " | ".join(f"{'−' if sign < 0 else '+'} {name}" for name, sign in flows.items())
    lines = [f"| policy | reward_mean | = {header} |", "|---|---:|" + "---:|" * len(flows)]
    for spec, metrics in entry["policies"].items():
        if all(isinstance(metrics.get(name), (int, float)) for name in flows):
            parts = " | ".join(f"{metrics[name]:.4g}" for name in flows)
            lines.append(f"| `{spec}` | {metrics['reward_mean']:.4g} | {parts} |")
    return "\n".join(lines)


def paired_lines(entry: dict[str, Any]) -> list[str]:
    lines = []
    for spec, metrics in entry["policies"].items():
        for reference in REFERENCES:
            paired = metrics.get(f"vs_{reference}")
            if paired:
                low, high = paired["ci95"]
                lines.append(
                    f"- `{spec}` − `{reference}`: {paired['mean']:+.4g} per episode "
                    f"(bootstrap 95 % CI [{low:+.4g}, {high:+.4g}])"
                )
        if metrics.get("optimality_score") is not None:
            low, high = metrics["optimality_score_ci95"]
            lines.append(
                f"- `{spec}` optimality score {metrics['optimality_score']:.4f} (95 % CI [{low:.4f}, {high:.4f}])"
            )
    return lines


def markdown_report(document: dict[str, Any], worlds: list[dict[str, Any]], plots: list[str], title: str) -> str:
    parts = [
        f"# {title}",
        "",
        f"{document['episodes']} episodes per policy on common random numbers (seed {document['seed']}); "
        f"reward is the env's objective; CARA γ = {document['risk_aversion']} for the certainty equivalent. "
        "Best value per column in bold.",
        "",
    ]
    for entry in worlds:
        parts += [f"## World `{entry['label']}`", ""]
        if "replay" in entry:
            replay = entry["replay"]
            parts += [
                f"Replayed on recorded flow, not simulated: `{replay['data']}`, {replay['sessions']} sessions, fill "
                f"rule `{replay['fill_rule']}` (at the quote: {replay['at_quote_probability']}).",
                "",
            ]
        parts += [markdown_table(entry), ""]
        parts += ["The reward, part by part (per episode):", "", decomposition_table(entry), ""]
        notes = {m[SCORE_NOTE] for m in entry["policies"].values() if m.get(SCORE_NOTE)} | set(entry["notes"])
        parts += [line for note in sorted(notes) for line in (f"Note: {note}.", "")]
        if "optimal_expected_reward" in entry:
            value = entry["optimal_expected_reward"]
            parts += [f"The optimum's exact expected reward (backward induction): {value:.6g}.", ""]
        if "full_information_expected_reward" in entry:
            value = entry["full_information_expected_reward"]
            parts += [f"With the flow state observed, the optimum's exact expected reward: {value:.6g}.", ""]
        if "information_value" in entry:
            value = entry["information_value"]
            parts += [f"The value of the information the maker lacks (full information − optimal): {value:.6g}.", ""]
        extra = paired_lines(entry)
        if extra:
            parts += ["Paired statistics:", "", *extra, ""]
    if plots:
        parts += ["## Plots", "", *(f"![{Path(p).stem}]({p})" for p in plots), ""]
    return "\n".join(parts)


def write_reports(
    out: Path, document: dict[str, Any], worlds: list[dict[str, Any]], plots: list[str], title: str
) -> None:
    atomic_write_json(out / "metrics.json", document)
    atomic_write_text(out / "metrics.csv", csv_text(worlds))
    atomic_write_text(out / "report.md", markdown_report(document, worlds, plots, title))
