"""Launching sweep runs on Ray Tune: a private local Ray by default, or a cluster at ``--address``/``RAY_ADDRESS``.

Grid and random sweeps hand Tune one trial per (configuration, seed) pair, frozen beforehand; optuna's
trials are configurations it suggests, each training every seed in turn. Tune retries a failed trial once
(``FailureConfig(max_failures=1)``), which resumes the run from its own checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from eval.files import atomic_write_json
from train.sweep.runs import DONE, FAILED, execute, run_state
from train.sweep.spec import Run, SweepSpec, digest
from train.sweep.statistics import AGGREGATES

INSTALL_HINT = 'Ray Tune is not installed; install the sweep extra: pip install -e ".[sweep]"'
OBJECTIVE = "objective"


def require_ray() -> None:
    """``ValueError`` with the install command when Ray Tune (or optuna) cannot be imported."""
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        raise ValueError(INSTALL_HINT) from None


def connect(address: str | None, num_cpus: int | None) -> str:
    """Start a private local Ray (no dashboard, no usage reporting) or join the cluster at ``address``
    (default ``RAY_ADDRESS``, which ``ray job submit`` sets). Returns a description of where it runs."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    if ray.is_initialized():
        ray.shutdown()
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        return f"Ray cluster at {address} ({int(ray.cluster_resources().get('CPU', 0))} CPUs)"
    cpus = num_cpus or os.cpu_count() or 1
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return f"private local Ray with {cpus} CPUs"


def _trial_name(trial: Any) -> str:
    run = trial.config.get("run")
    return run["config_id"] + f"-seed{run['seed']}" if run else trial.trial_id


def launch_runs(spec: SweepSpec, sweep_dir: Path, runs: list[Run]) -> None:
    """Run every given (configuration, seed) pair that is not done or failed, as Tune trials."""
    from ray import tune

    todo = [dataclasses.asdict(run) for run in runs if run_state(Path(run.run_dir)) not in (DONE, FAILED)]
    if not todo:
        return
    cpus = spec.cpus_per_run

    def trainable(params: dict[str, Any]) -> None:
        result = execute(Run(**params["run"]), cpus, report=tune.report)
        tune.report({OBJECTIVE: float(result["metrics"].get(spec.objective.metric, float("nan"))), "done": True})

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus}),
        param_space={"run": tune.grid_search(todo)},
        tune_config=tune.TuneConfig(trial_name_creator=_trial_name, trial_dirname_creator=_trial_name),
        run_config=_run_config(spec, sweep_dir),
    )
    tuner.fit()


def launch_optuna(spec: SweepSpec, sweep_dir: Path) -> None:
    """Let optuna suggest ``samples`` configurations; each trial trains every seed and reports the aggregate."""
    import optuna
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    space = {}
    for key, distribution in spec.sample.items():
        ((kind, values),) = distribution.items()
        if kind == "choice":
            space[key] = optuna.distributions.CategoricalDistribution(values)
        else:
            space[key] = optuna.distributions.FloatDistribution(values[0], values[1], log=kind == "loguniform")
    cpus, aggregate = spec.cpus_per_run, AGGREGATES[spec.objective.aggregate]

    def trainable(axes: dict[str, Any]) -> None:
        runs = optuna_runs(spec, sweep_dir, axes)
        scores = []
        for run in runs:
            result = execute(run, cpus)
            scores.append(float(result["metrics"].get(spec.objective.metric, float("nan"))))
        tune.report({OBJECTIVE: aggregate(scores), "done": True})

    storage = sweep_dir.absolute() / "tune"
    path = storage / spec.name
    trainable_with_resources = tune.with_resources(trainable, {"cpu": cpus})
    if tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable=trainable_with_resources, resume_errored=True)
    else:
        searcher = OptunaSearch(space, metric=OBJECTIVE, mode=spec.objective.mode, seed=spec.searcher_seed)
        tuner = tune.Tuner(
            trainable_with_resources,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=spec.samples),
            run_config=_run_config(spec, sweep_dir),
        )
    tuner.fit()


def optuna_runs(spec: SweepSpec, sweep_dir: Path, axes: dict[str, Any]) -> list[Run]:
    """The runs of one suggested configuration, its axes recorded beside them for the report."""
    identifier = f"optuna-{digest(axes)}"
    folder = (sweep_dir / "runs").absolute()
    atomic_write_json(folder / f"{identifier}.axes.json", axes)
    base = None if spec.base is None else str(spec.base)
    return [
        Run(identifier, seed, {**spec.overrides, **axes}, base, str(folder / f"{identifier}-seed{seed}"))
        for seed in spec.seeds
    ]


def _run_config(spec: SweepSpec, sweep_dir: Path) -> Any:
    from ray import tune

    return tune.RunConfig(
        name=spec.name,
        storage_path=str(sweep_dir.absolute() / "tune"),
        failure_config=tune.FailureConfig(max_failures=1),
        verbose=0,
    )
