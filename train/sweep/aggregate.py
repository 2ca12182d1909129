"""A sweep's results, read from its run folders alone, and its report: ``report.md``, ``summary.json``,
``results.csv``, plots, and a TensorBoard hparams experiment at the sweep's root.

The score of a run is its final optimality score (0 symmetric, 1 the optimum) in the world it trained
in; runs are stratified by that world, so aggregating over worlds is meaningful.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from eval.evaluate import json_ready
from eval.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from eval.run_folder import RunFolder
from train.sweep.runs import DONE, FAILED, failures, run_state, stored_result
from train.sweep.spec import digest
from train.sweep.statistics import AGGREGATES, performance_profile, probability_of_improvement, summarize

SWEEP_FILE = "sweep.json"
REPORT_DIR = "report"
KEPT_METRICS = (
    "optimality_score",
    "reward_mean",
    "pnl_mean",
    "pnl_std",
    "certainty_equivalent",
    "mean_abs_inventory",
    "spread_captured",
    "inventory_pnl",
    "penalty",
    "fees",
)


def load_sweep(sweep_dir: Path) -> dict[str, Any]:
    path = sweep_dir / SWEEP_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{sweep_dir} is not a sweep folder (cannot read {path.name}: {error})") from None


def planned_runs(sweep: dict[str, Any], sweep_dir: Path) -> list[dict[str, Any]]:
    """Every planned run as ``{config_id, seed, axes, run_dir}``; optuna's configurations come from the
    folders its trials made, and its unsuggested ones count as pending slots."""
    runs = [dict(run) for run in sweep["runs"]]
    if sweep["searcher"] == "optuna":
        folder = sweep_dir / "runs"
        for axes_file in sorted(folder.glob("*.axes.json")) if folder.is_dir() else []:
            identifier = axes_file.name.removesuffix(".axes.json")
            axes = json.loads(axes_file.read_text())
            for seed in sweep["seeds"]:
                run_dir = str((folder / f"{identifier}-seed{seed}").absolute())
                runs.append({"config_id": identifier, "seed": seed, "axes": axes, "run_dir": run_dir})
    return runs


def collect(sweep_dir: Path) -> dict[str, Any]:
    """Per run: state and kept metrics; per configuration: its axes and runs."""
    sweep = load_sweep(sweep_dir)
    rows = []
    for run in planned_runs(sweep, sweep_dir):
        run_dir = Path(run["run_dir"])
        state = run_state(run_dir)
        row = {"config_id": run["config_id"], "seed": run["seed"], "state": state, "run_dir": str(run_dir)}
        row.update({f"axis:{k}": v for k, v in run["axes"].items()})
        if state == DONE:
            result = stored_result(run_dir)
            row["world"] = _world_key(run_dir)
            row.update({k: result["metrics"].get(k) for k in KEPT_METRICS})
            row["baselines"] = {name: metrics.get("optimality_score") for name, metrics in result["baselines"].items()}
            row["wall_seconds"] = result["timing"].get("wall_seconds")
        elif state == FAILED:
            row["error"] = failures(run_dir)[-1]
        rows.append(row)
    if sweep["searcher"] == "optuna":
        suggested = len({row["config_id"] for row in rows})
        for _ in range(max(0, sweep["samples"] - suggested) * len(sweep["seeds"])):
            rows.append({"config_id": "(not yet suggested)", "seed": None, "state": "pending", "run_dir": ""})
    return {"sweep": sweep, "rows": rows}


def _world_key(run_dir: Path) -> str:
    document = json.loads(RunFolder(run_dir).world.read_text())
    return f"{document.get('preset') or 'world'}-{digest(document['fields'])}"


def scores_by_world(rows: list[dict[str, Any]], metric: str = "optimality_score") -> dict[str, np.ndarray]:
    grouped: dict[str, list[float]] = {}
    for row in rows:
        if row["state"] == DONE and isinstance(row.get(metric), (int, float)):
            grouped.setdefault(row["world"], []).append(float(row[metric]))
    return {world: np.array(values) for world, values in grouped.items()}


def summarize_sweep(collected: dict[str, Any]) -> dict[str, Any]:
    """Per configuration: n done/planned, failed runs, mean/median/IQM with stratified-bootstrap CIs,
    per-seed values, the probability of improvement over the best configuration and each baseline."""
    sweep, rows = collected["sweep"], collected["rows"]
    objective = sweep["objective"]
    configs: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["config_id"] == "(not yet suggested)":
            continue
        entry = configs.setdefault(
            row["config_id"],
            {"axes": {k[5:]: v for k, v in row.items() if k.startswith("axis:")}, "rows": []},
        )
        entry["rows"].append(row)
    summary: dict[str, Any] = {"objective": objective, "configurations": {}}
    scores = {}
    for identifier, entry in configs.items():
        config_rows = entry["rows"]
        scores[identifier] = scores_by_world(config_rows, objective["metric"])
        stats = summarize(scores[identifier])
        summary["configurations"][identifier] = {
            "axes": entry["axes"],
            "done": sum(r["state"] == DONE for r in config_rows),
            "planned": len(config_rows),
            "failed": [{"seed": r["seed"], "error": r.get("error")} for r in config_rows if r["state"] == FAILED],
            **stats,
            "per_seed": {str(r["seed"]): r.get(objective["metric"]) for r in config_rows if r["state"] == DONE},
        }
    ranked = _ranked(summary["configurations"], objective)
    summary["ranking"] = ranked
    if ranked:
        best = ranked[0]
        summary["best"] = best
        baselines = _baseline_scores(rows)
        for identifier, entry in summary["configurations"].items():
            entry["probability_of_improvement"] = {
                f"vs best ({best})": probability_of_improvement(scores[identifier], scores[best])
                if identifier != best
                else None,
                **{
                    f"vs {name}": probability_of_improvement(scores[identifier], baseline)
                    for name, baseline in baselines.items()
                },
            }
    summary["runs"] = {
        "done": sum(r["state"] == DONE for r in rows),
        "failed": sum(r["state"] == FAILED for r in rows),
        "planned": len(rows),
    }
    return summary


def _ranked(configurations: dict[str, Any], objective: dict[str, str]) -> list[str]:
    key = objective["aggregate"]
    scored = [(c, e[key]) for c, e in configurations.items() if e["done"] and np.isfinite(e[key])]
    return [c for c, _ in sorted(scored, key=lambda item: item[1], reverse=objective["mode"] == "max")]


def _baseline_scores(rows: list[dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """Each baseline's optimality score per world (deterministic: one value per world)."""
    baselines: dict[str, dict[str, np.ndarray]] = {}
    for row in rows:
        for name, score in (row.get("baselines") or {}).items():
            if isinstance(score, (int, float)) and name not in ("symmetric", "optimal"):
                baselines.setdefault(name, {})[row["world"]] = np.array([float(score)])
    return baselines


def results_csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in columns and not isinstance(value, dict):
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def markdown(summary: dict[str, Any], sweep: dict[str, Any], plots: list[str]) -> str:
    objective = summary["objective"]
    runs = summary["runs"]
    lines = [
        f"# Sweep `{sweep['name']}`",
        "",
        f"Searcher `{sweep['searcher']}`, seeds {sweep['seeds']}; objective: {objective['aggregate']} of the final "
        f"`{objective['metric']}` ({objective['mode']}). Runs done {runs['done']} / planned {runs['planned']}, "
        f"failed {runs['failed']}. Intervals: 95 % stratified bootstrap over runs within each world "
        "(Agarwal et al. 2021).",
        "",
        "| rank | configuration | axes | n (done/planned) | IQM [95 % CI] | mean [95 % CI] | median | worst seed | "
        "P(improvement) |",
        "|---:|---|---|---:|---|---|---:|---:|---|",
    ]
    order = summary["ranking"] + [c for c in summary["configurations"] if c not in summary["ranking"]]
    for rank, identifier in enumerate(order, 1):
        entry = summary["configurations"][identifier]
        axes = ", ".join(f"{k}={_short(v)}" for k, v in entry["axes"].items()) or "—"
        per_seed = [v for v in entry["per_seed"].values() if isinstance(v, (int, float))]
        worst = f"{min(per_seed):.3f}" if per_seed else "—"
        improvement = ", ".join(
            f"{k} {v:.2f}" for k, v in (entry.get("probability_of_improvement") or {}).items() if v is not None
        )
        lines.append(
            f"| {rank} | `{identifier}` | {axes} | {entry['done']}/{entry['planned']} | {_interval(entry, 'iqm')} | "
            f"{_interval(entry, 'mean')} | {_number(entry['median'])} | {worst} | {improvement or '—'} |"
        )
    failed = [(c, f) for c, e in summary["configurations"].items() for f in e["failed"]]
    if failed:
        lines += ["", "Failed runs (failed twice, listed, not dropped):", ""]
        lines += [f"- `{c}` seed {f['seed']}: {f['error']}" for c, f in failed]
    lines += ["", "Per-seed scores:", ""]
    for identifier in order:
        per_seed = summary["configurations"][identifier]["per_seed"]
        lines.append(f"- `{identifier}`: " + (", ".join(f"seed {s}: {_number(v)}" for s, v in per_seed.items()) or "—"))
    if plots:
        lines += ["", "## Plots", "", *(f"![{Path(p).stem}]({p})" for p in plots)]
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else json.dumps(value)


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and np.isfinite(value) else "—"


def _interval(entry: dict[str, Any], name: str) -> str:
    low, high = entry[f"{name}_ci95"]
    return f"{_number(entry[name])} [{_number(low)}, {_number(high)}]"


def write_report(sweep_dir: Path) -> dict[str, Any]:
    """Collect, summarize and publish the report into ``<sweep>/report``; returns the summary."""
    collected = collect(sweep_dir)
    summary = summarize_sweep(collected)
    out = sweep_dir / REPORT_DIR
    plots = _plots(out, collected, summary)
    atomic_write_json(out / "summary.json", json_ready(summary))
    atomic_write_text(out / "results.csv", results_csv(collected["rows"]))
    atomic_write_text(out / "report.md", markdown(summary, collected["sweep"], plots))
    _write_hparams(sweep_dir, collected)
    return summary


def _plots(out: Path, collected: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eval.plots import png_bytes

    configurations = summary["configurations"]
    order = summary["ranking"]
    if not order:
        return []
    written = []
    figure, axis = plt.subplots(figsize=(7, 0.5 * len(order) + 1.5))
    for row, identifier in enumerate(order):
        entry = configurations[identifier]
        low, high = entry["iqm_ci95"]
        axis.plot([low, high], [row, row], color="C0", linewidth=4, alpha=0.5)
        axis.plot(entry["iqm"], row, "o", color="C0")
        seeds = [v for v in entry["per_seed"].values() if isinstance(v, (int, float))]
        axis.plot(seeds, [row] * len(seeds), "x", color="black", markersize=4)
    for index, (name, by_world) in enumerate(_baseline_scores(collected["rows"]).items()):
        value = float(np.mean([v[0] for v in by_world.values()]))
        axis.axvline(value, color=f"C{index + 1}", linestyle="--", label=name)
    axis.axvline(1.0, color="grey", linestyle=":", label="optimal")
    axis.set_yticks(range(len(order)), order)
    axis.set_xlabel("final optimality score: IQM, 95 % CI, seeds (×)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    written.append(_save(out, "intervals.png", figure, png_bytes, plt))

    figure, axis = plt.subplots(figsize=(6, 4))
    thresholds = np.linspace(-0.5, 1.05, 200)
    for identifier in order[:8]:
        scores = scores_by_world([r for r in collected["rows"] if r["config_id"] == identifier])
        axis.plot(thresholds, performance_profile(scores, thresholds), label=identifier)
    axis.set_xlabel("optimality score τ")
    axis.set_ylabel("fraction of runs with score > τ")
    axis.legend(fontsize=7)
    figure.tight_layout()
    written.append(_save(out, "performance_profile.png", figure, png_bytes, plt))

    figure, axis = plt.subplots(figsize=(6, 4))
    for index, identifier in enumerate(order[:8]):
        curves = _learning_curves([r for r in collected["rows"] if r["config_id"] == identifier])
        if not curves:
            continue
        steps = sorted(curves)
        iqms = [AGGREGATES["iqm"](np.array(curves[s])) for s in steps]
        axis.plot(steps, iqms, color=f"C{index}", label=identifier)
        axis.fill_between(
            steps, [min(curves[s]) for s in steps], [max(curves[s]) for s in steps], color=f"C{index}", alpha=0.2
        )
    axis.set_xlabel("env steps")
    axis.set_ylabel("optimality score (IQM over seeds; band: min–max)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    written.append(_save(out, "learning_curves.png", figure, png_bytes, plt))
    return written


def _learning_curves(rows: list[dict[str, Any]]) -> dict[int, list[float]]:
    curves: dict[int, list[float]] = {}
    for row in rows:
        path = RunFolder(Path(row["run_dir"])).evaluations if row["run_dir"] else None
        if path is None or not path.is_file():
            continue
        for evaluation in json.loads(path.read_text()):
            score = evaluation["policies"].get("learned", {}).get("optimality_score")
            if score is not None:
                curves.setdefault(int(evaluation["step"]), []).append(float(score))
    return curves


def _save(out: Path, name: str, figure: Any, png_bytes: Any, plt: Any) -> str:
    atomic_write_bytes(out / name, png_bytes(figure))
    plt.close(figure)
    return name


def _write_hparams(sweep_dir: Path, collected: dict[str, Any]) -> None:
    """One hparams experiment at the sweep's root listing every axis, the seed and the final metrics, and
    one session per finished run, so TensorBoard's hparams tab shows every run's columns."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    done = [r for r in collected["rows"] if r["state"] == DONE]
    if not done:
        return
    axes = sorted({k for r in done for k in r if k.startswith("axis:")})
    metrics = {f"final/{m}": 0.0 for m in KEPT_METRICS if any(isinstance(r.get(m), (int, float)) for r in done)}
    example = {k[5:]: _plain(done[0].get(k)) for k in axes} | {"config": "", "seed": 0}
    experiment, _, _ = hparams(example, metrics)
    folder = sweep_dir / "tb-hparams"
    with SummaryWriter(log_dir=str(folder)) as writer:
        writer.file_writer.add_summary(experiment)
    for row in done:
        values = {k[5:]: _plain(row.get(k)) for k in axes} | {"config": row["config_id"], "seed": row["seed"]}
        row_metrics = {f"final/{m}": float(row[m]) for m in KEPT_METRICS if isinstance(row.get(m), (int, float))}
        _, session_start, session_end = hparams(values, row_metrics)
        with SummaryWriter(log_dir=str(folder / f"{row['config_id']}-seed{row['seed']}")) as writer:
            writer.file_writer.add_summary(session_start)
            writer.file_writer.add_summary(session_end)
            for key, value in row_metrics.items():
                writer.add_scalar(key, value, 0)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) else json.dumps(value)
