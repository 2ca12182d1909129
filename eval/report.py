"""``metrics.json``, ``metrics.csv`` and ``report.md`` from evaluated policies."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from envs.batch import CASH_FLOWS, HEDGE_FLOWS
from eval.evaluate import SCORE_NOTE, PolicyResult, json_ready, world_record
from eval.files import atomic_write_json, atomic_write_text

SCHEMA = "mm-inventory/metrics/v1"
# Columns of the readable table, with the direction that is better (None: no best marked).
TABLE_COLUMNS = {
    "reward_mean": max,
    "reward_std": min,
    "pnl_mean": max,
    "pnl_std": min,
    "sharpe": max,
    "certainty_equivalent": max,
    "final_inventory_std": min,
    "mean_abs_inventory": min,
    "max_abs_inventory": min,
    "max_abs_inventory_mean": min,
    "time_at_limit": min,
    "spread_mean": None,
    "fills_bid": None,
    "fills_ask": None,
    "hedge_volume": None,
    "mean_abs_hedge": None,
    "hedge_ratio": None,
    "net_risk_mean": min,
    "optimality_score": max,
}


def world_entry(label: str, world, results: dict[str, PolicyResult]) -> dict[str, Any]:
    return {
        "label": label,
        "world": world_record(world),
        "policies": {key: {"spec": r.spec.as_dict(), **json_ready(r.metrics)} for key, r in results.items()},
    }


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
    columns = [c for c in TABLE_COLUMNS if any(isinstance(m.get(c), (int, float)) for m in policies.values())]
    best = {}
    for column in columns:
        values = [m[column] for m in policies.values() if isinstance(m.get(column), (int, float))]
        if TABLE_COLUMNS[column] is not None and len(values) > 1:
            best[column] = TABLE_COLUMNS[column](values)
    lines = ["| policy | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for spec, metrics in policies.items():
        cells = []
        for column in columns:
            value = metrics.get(column)
            text = "—" if not isinstance(value, (int, float)) else f"{value:.4g}"
            cells.append(f"**{text}**" if column in best and value == best[column] else text)
        lines.append(f"| `{spec}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
        paired = metrics.get("vs_avellaneda_stoikov")
        if paired:
            low, high = paired["ci95"]
            lines.append(
                f"- `{spec}` − A–S: {paired['mean']:+.4g} per episode (bootstrap 95 % CI [{low:+.4g}, {high:+.4g}])"
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
        parts += [f"## World `{entry['label']}`", "", markdown_table(entry), ""]
        parts += ["The reward, part by part (per episode):", "", decomposition_table(entry), ""]
        notes = {m[SCORE_NOTE] for m in entry["policies"].values() if m.get(SCORE_NOTE)}
        parts += [line for note in sorted(notes) for line in (f"Note: {note}.", "")]
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
