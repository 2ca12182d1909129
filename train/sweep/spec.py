"""Sweep specs: YAML as plain data, validated in full before the first run, expanded deterministically.

::

    name: lr-demo                   # the sweep folder's default name, sweeps/<name>
    base: ../demo.yaml              # the base experiment config, relative to this file
    overrides: {total_timesteps: 200000}          # fixed, with the same keys as --set
    seeds: 0-1                      # every configuration runs on every seed, exactly once
    grid:                           # crossed with each other and with every sample
      algorithm.hyperparameters.n_epochs: [5, 10]
    sample:                         # drawn `samples` times (random, optuna)
      algorithm.hyperparameters.learning_rate: {loguniform: [1.0e-4, 1.0e-3]}
      algorithm.policy_kwargs.log_std_init: {uniform: [-2.0, -1.0]}
      env.num_envs: {choice: [64, 128]}
    samples: 4
    searcher: random                # grid, random or optuna
    searcher_seed: 0
    objective: {metric: optimality_score, aggregate: iqm, mode: max}
    resources: {cpus_per_run: 1}

Configurations are frozen (every axis drawn) before they are crossed with the seeds, so each seed of a
configuration trains the same hyperparameters. ``optuna`` suggests configurations from the results so far;
each of its configurations trains every seed in turn.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from train.config import Config, ConfigError, load_config
from train.seeds import parse_seeds
from train.sweep.statistics import AGGREGATES

SEARCHERS = ("grid", "random", "optuna")
DISTRIBUTIONS = ("uniform", "loguniform", "choice")
MODES = ("max", "min")
METRICS = ("optimality_score", "reward_mean", "pnl_mean", "certainty_equivalent", "sharpe")
SPEC_KEYS = (
    "name",
    "base",
    "overrides",
    "seeds",
    "grid",
    "sample",
    "samples",
    "searcher",
    "searcher_seed",
    "objective",
    "resources",
)


@dataclasses.dataclass(frozen=True)
class Objective:
    metric: str = "optimality_score"
    aggregate: str = "iqm"
    mode: str = "max"


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated spec; ``base`` is absolute, ``folder`` the one its relative paths resolve against,
    ``source`` the text it was read from (its hash guards resume)."""

    name: str
    base: Path | None
    overrides: dict[str, Any]
    seeds: list[int]
    grid: dict[str, list[Any]]
    sample: dict[str, dict[str, list[Any]]]
    samples: int
    searcher: str
    searcher_seed: int
    objective: Objective
    cpus_per_run: float
    source: str
    folder: Path

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Run:
    """One (configuration, seed) pair: every path absolute, since trials run in another directory."""

    config_id: str
    seed: int
    overrides: dict[str, Any]
    base: str | None
    run_dir: str

    @property
    def run_id(self) -> str:
        return f"{self.config_id}-seed{self.seed}"

    def config(self, extra: tuple[str, ...] = ()) -> Config:
        assignments = [f"{k}={json.dumps(v)}" for k, v in self.overrides.items()]
        return load_config(self.base, [*assignments, f"seed={self.seed}", *extra])


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a spec file; ``ValueError`` names the key and what is accepted."""
    path = Path(path).absolute()
    try:
        source = path.read_text()
        data = yaml.safe_load(source) or {}
    except OSError as error:
        raise ValueError(f"cannot read sweep spec {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"sweep spec {path} is not valid YAML: {error}") from None
    return spec_from_dict(data, path.parent, source)


def spec_from_dict(data: Any, folder: Path, source: str | None = None) -> SweepSpec:
    if not isinstance(data, dict):
        raise ValueError("sweep spec must be a mapping of keys to values")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"sweep spec: unknown key {unknown[0]}; accepted: {list(SPEC_KEYS)}")
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain folder name; got {name!r}")
    base = data.get("base")
    if base is not None:
        if not isinstance(base, str):
            raise ValueError(f"base must be a path to a config file; got {base!r}")
        base = (folder / base).resolve()
        if not base.is_file():
            raise ValueError(f"base: no config file at {base}")
    overrides = _mapping("overrides", data.get("overrides", {}))
    seeds = parse_seeds(data.get("seeds", [0]), "seeds")
    grid = _mapping("grid", data.get("grid", {}))
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid.{key} must be a non-empty list of values; got {values!r}")
    sample = _mapping("sample", data.get("sample", {}))
    for key, distribution in sample.items():
        _check_distribution(key, distribution)
    searcher = data.get("searcher", "grid" if not sample else "random")
    if searcher not in SEARCHERS:
        raise ValueError(f"searcher must be one of {list(SEARCHERS)}; got {searcher!r}")
    if searcher == "grid" and sample:
        raise ValueError("searcher grid takes no sample axes; use random or optuna, or list the values under grid")
    if searcher == "optuna" and grid:
        raise ValueError("searcher optuna takes sample axes only; write a grid axis as {choice: [...]}")
    samples = data.get("samples", 1)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer ≥ 1; got {samples!r}")
    searcher_seed = data.get("searcher_seed", 0)
    if isinstance(searcher_seed, bool) or not isinstance(searcher_seed, int) or searcher_seed < 0:
        raise ValueError(f"searcher_seed must be an integer ≥ 0; got {searcher_seed!r}")
    objective_data = _mapping("objective", data.get("objective", {}))
    unknown = sorted(set(objective_data) - {"metric", "aggregate", "mode"})
    if unknown:
        raise ValueError(f"objective: unknown key {unknown[0]}; accepted: ['aggregate', 'metric', 'mode']")
    objective = Objective(**objective_data)
    if objective.metric not in METRICS:
        raise ValueError(f"objective.metric must be one of {list(METRICS)}; got {objective.metric!r}")
    if objective.aggregate not in AGGREGATES:
        raise ValueError(f"objective.aggregate must be one of {list(AGGREGATES)}; got {objective.aggregate!r}")
    if objective.mode not in MODES:
        raise ValueError(f"objective.mode must be one of {list(MODES)}; got {objective.mode!r}")
    resources = _mapping("resources", data.get("resources", {}))
    unknown = sorted(set(resources) - {"cpus_per_run"})
    if unknown:
        raise ValueError(f"resources: unknown key {unknown[0]}; accepted: ['cpus_per_run']")
    cpus = resources.get("cpus_per_run", 1)
    if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not cpus > 0:
        raise ValueError(f"resources.cpus_per_run must be > 0; got {cpus!r}")
    text = source if source is not None else yaml.safe_dump(data, sort_keys=True)
    spec = SweepSpec(
        name,
        base,
        overrides,
        seeds,
        grid,
        sample,
        samples,
        searcher,
        searcher_seed,
        objective,
        float(cpus),
        text,
        folder.absolute(),
    )
    _check_keys(spec)
    return spec


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping; got {value!r}")
    return dict(value)


def _check_distribution(key: str, distribution: Any) -> None:
    if not isinstance(distribution, dict) or len(distribution) != 1 or next(iter(distribution)) not in DISTRIBUTIONS:
        raise ValueError(
            f"sample.{key} must be one of {{uniform: [low, high]}}, {{loguniform: [low, high]}}, "
            f"{{choice: [values...]}}; got {distribution!r}"
        )
    ((kind, values),) = distribution.items()
    if not isinstance(values, list) or not values:
        raise ValueError(f"sample.{key}.{kind} must be a non-empty list; got {values!r}")
    if kind == "choice":
        return
    numbers = len(values) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numbers or not values[0] < values[1] or not all(math.isfinite(v) for v in values):
        raise ValueError(f"sample.{key}.{kind} must be [low, high] with low < high; got {values!r}")
    if kind == "loguniform" and values[0] <= 0:
        raise ValueError(f"sample.{key}.loguniform needs low > 0; got {values!r}")


def _check_keys(spec: SweepSpec) -> None:
    """Every key and every value at its bounds must make a valid config, before anything runs."""
    corners = [{}]
    for key, values in spec.grid.items():
        corners = [{**c, key: v} for c in corners for v in values]
    for key, distribution in spec.sample.items():
        ((kind, values),) = distribution.items()
        corners = [{**c, key: v} for c in corners for v in values]
    for corner in corners[:64]:
        try:
            Run("check", spec.seeds[0], {**spec.overrides, **corner}, _text(spec.base), "/").config()
        except ConfigError as error:
            raise ValueError(f"sweep spec: {error}") from None


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def configurations(spec: SweepSpec) -> list[dict[str, Any]]:
    """The frozen configurations (overrides beyond the fixed ones) of a grid or random sweep, in order.

    The same spec and ``searcher_seed`` always give the same list."""
    grid = [dict(zip(spec.grid, values, strict=True)) for values in itertools.product(*spec.grid.values())]
    if spec.searcher == "grid":
        return grid
    rng = np.random.default_rng(spec.searcher_seed)
    draws = [{key: draw(rng, distribution) for key, distribution in spec.sample.items()} for _ in range(spec.samples)]
    return [{**point, **draw_} for draw_ in draws for point in grid]


def draw(rng: np.random.Generator, distribution: dict[str, list[Any]]) -> Any:
    ((kind, values),) = distribution.items()
    if kind == "choice":
        return values[int(rng.integers(len(values)))]
    low, high = values
    if kind == "uniform":
        return float(rng.uniform(low, high))
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def digest(value: Any) -> str:
    """A short, stable hash of JSON-able data (six hex digits), for folder names tied to their content."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:6]


def config_id(index: int, axes: dict[str, Any]) -> str:
    """``c<index>-<hash of the axes>``: ordered, and tied to the values so that a changed spec cannot reuse it."""
    return f"c{index:03d}-{digest(axes)}"


def expand(spec: SweepSpec, sweep_dir: Path) -> list[Run]:
    """Every (configuration, seed) pair of a grid or random sweep, each exactly once."""
    runs = []
    for index, axes in enumerate(configurations(spec)):
        identifier = config_id(index, axes)
        for seed in spec.seeds:
            run_dir = (sweep_dir / "runs" / f"{identifier}-seed{seed}").absolute()
            runs.append(Run(identifier, seed, {**spec.overrides, **axes}, _text(spec.base), str(run_dir)))
    return runs
