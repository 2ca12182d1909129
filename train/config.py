"""Experiment configuration: YAML as plain data, validated completely before any work starts.

The dataclass defaults below are the one recipe: a shipped config holds only what makes it different.
Where a config leaves them out, PPO's ``n_steps``, ``batch_size`` and ``gamma`` are derived from the world
at load time (``derived_hyperparameters``) and written into the run's resolved ``config.yaml``. Every
error names the key (dotted path) and what is accepted; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path
from typing import Any

import yaml

from baselines import POLICIES, list_policies, make_policy
from baselines.policy import one_asset_world
from envs import (
    CLOSE_INVENTORY,
    CLOSE_WINDOW,
    REWARD_VARIANTS,
    World,
    check_close_starts,
)
from envs.interface import Interface, derived_interface, interface_of
from envs.market import Market
from envs.presets import is_market_preset, preset_fields, preset_names, read_market_file, resolve_any
from eval.evaluate import ladder
from eval.learned import ALGORITHMS, algorithm_class
from eval.metrics import DEFAULT_RISK_AVERSION
from eval.specs import parse_set, parse_spec

ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "silu")
POLICY_KWARGS = (
    "net_arch",
    "activation_fn",
    "log_std_init",
    "ortho_init",
    "full_std",
    "squash_output",
    "share_features_extractor",
    "n_critics",
)
DEVICES = ("auto", "cpu", "cuda")
SCHEDULED = ("learning_rate", "clip_range")
# The PPO recipe, world-independent; merged under a config's own algorithm.hyperparameters/policy_kwargs.
PPO_HYPERPARAMETERS = {
    "learning_rate": {"linear": [3e-4, 3e-5]},  # decays linearly over total_timesteps
    "n_epochs": 10,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.0,
    "max_grad_norm": 0.5,
}
PPO_POLICY_KWARGS = {"net_arch": [128, 128], "activation_fn": "tanh", "log_std_init": -1.5}
# Rollout length per market: the session, capped so that long sessions still give many updates.
MAX_ROLLOUT_STEPS = 256
MINIBATCHES = 8
# The discount's horizon, in sessions: long enough that the close dominates, short enough to learn.
DISCOUNT_HORIZON_SESSIONS = 5


class ConfigError(ValueError):
    """A configuration problem, naming the key and what is accepted."""


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    """The world trained and evaluated on."""

    preset: str = "default"  # a preset from envs.list_presets()
    overrides: dict = dataclasses.field(default_factory=dict)  # world fields replacing the preset's
    file: str = ""  # a market file (YAML, e.g. from python -m eval.calibrate) instead of the preset
    # A market's observed features (envs.interface.OBSERVATION_FEATURES), in order; null: derived from the market. A
    # single-asset world's are its observation_features field.
    features: list | None = None


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """The training environment around the world."""

    num_envs: int = 128  # parallel markets in the batched VecEnv
    reward: str = "variance_reduced"  # "pnl" or "variance_reduced" (same objective in expectation)
    normalize_observation: bool = False  # VecNormalize on observations
    normalize_reward: bool = True  # VecNormalize on rewards (scales by the running return std)
    # Share of training steps spent in sessions opened within close_window steps of the close [0, 1], in every market
    close_starts: float = 0.05
    close_window: int = CLOSE_WINDOW  # steps before the close those sessions open within
    close_inventory: str = CLOSE_INVENTORY  # where they open: "uniform" or "visited" (envs.MarketBatch)


@dataclasses.dataclass(frozen=True)
class AlgorithmConfig:
    """A stable-baselines3 algorithm with a Box action space, as plain data."""

    name: str = "PPO"  # one of PPO, A2C, SAC, TD3, DDPG
    hyperparameters: dict = dataclasses.field(default_factory=dict)  # keyword arguments of the algorithm
    policy_kwargs: dict = dataclasses.field(default_factory=dict)  # net_arch, activation_fn (a name), ...
    # Ceiling on the quote legs' exploration std at the end of training, in units of 1/κ (train.exploration, κ
    # each asset's effective decay, k for the exponential curve): bounds the deterministic quotes' bias from
    # training under noise at final_quote_std² of 1/κ. 0: no ceiling. Applies to policies with a
    # state-independent std (PPO, A2C), in every market.
    final_quote_std: float = 0.1


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """Periodic paired evaluation of the learned policy and the baselines."""

    frequency: int = 500_000  # env steps between evaluations
    episodes: int = 500  # episodes per policy per evaluation (common random numbers)
    seed: int = 1_000_000  # seed of evaluation episode 0, disjoint from training seeds
    risk_aversion: float = DEFAULT_RISK_AVERSION  # CARA γ of the certainty-equivalent metric [1/price]
    baselines: tuple | None = None  # None: the market's ladder (eval.evaluate.ladder)


@dataclasses.dataclass(frozen=True)
class Config:
    """One experiment."""

    experiment: str = "default"  # names the run folder runs/<experiment>/<run-id>
    seed: int = 0  # seeds the policy initialization and the training markets
    total_timesteps: int = 4_000_000  # env steps over all parallel markets
    device: str = "cpu"  # torch device: auto, cpu or cuda (small MLPs train fastest on the CPU)
    torch_threads: int = 1  # torch's intra-op threads; 1 is robust when other work shares the cores
    checkpoint_frequency: int = 500_000  # env steps between checkpoints
    world: WorldConfig = dataclasses.field(default_factory=WorldConfig)
    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    algorithm: AlgorithmConfig = dataclasses.field(default_factory=AlgorithmConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["evaluation"]["baselines"] = list(self.evaluation.baselines)
        return data


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Read a YAML config (``None``: all defaults), apply ``key.path=value`` overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error.strerror or error}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"config {path} is not valid YAML: {error}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} must be a mapping of keys to values")
    try:
        assignments = parse_set(list(overrides))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    for key, value in assignments.items():
        _assign(data, key.split("."), value)
    return config_from_dict(data)


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build, fill in the recipe, the world kind's baselines and close starts and the world-derived
    hyperparameters, and validate."""
    config = _build(Config, data, "")
    if config.world.file:  # absolute: a sweep's trials run in another working directory
        world = dataclasses.replace(config.world, file=str(Path(config.world.file).resolve()))
        config = dataclasses.replace(config, world=world)
    given = config.evaluation.baselines is not None
    if not given:
        try:
            baselines = ladder(world_of(config))
        except ValueError:  # a bad preset or override: _check names it
            baselines = ()
        config = dataclasses.replace(config, evaluation=dataclasses.replace(config.evaluation, baselines=baselines))
    _check(config, given)
    return resolve_recipe(config)


def resolve_recipe(config: Config) -> Config:
    """The config with the PPO recipe merged under its own values and ``n_steps``, ``batch_size`` and
    ``gamma`` derived from the world where it leaves them out (other algorithms: as given)."""
    algorithm = config.algorithm
    if algorithm.name != "PPO":
        return config
    derived = derived_hyperparameters(world_of(config), config.env.num_envs)
    hyperparameters = {**PPO_HYPERPARAMETERS, **derived, **algorithm.hyperparameters}
    if "batch_size" not in algorithm.hyperparameters and "n_steps" in algorithm.hyperparameters:
        rollout = algorithm.hyperparameters["n_steps"] * config.env.num_envs
        hyperparameters["batch_size"] = max(1, rollout // MINIBATCHES)
    policy_kwargs = {**PPO_POLICY_KWARGS, **algorithm.policy_kwargs}
    resolved = dataclasses.replace(algorithm, hyperparameters=hyperparameters, policy_kwargs=policy_kwargs)
    return dataclasses.replace(config, algorithm=resolved)


def derived_hyperparameters(world, num_envs: int) -> dict[str, Any]:
    """PPO's world-dependent hyperparameters: a rollout of one session per market (at most
    ``MAX_ROLLOUT_STEPS``), ``MINIBATCHES`` minibatches per epoch, and a discount whose horizon is
    ``DISCOUNT_HORIZON_SESSIONS`` sessions, ``γ = 1 − 1/(5·n_steps)`` (0.999 for 200-step sessions)."""
    steps = interface_of(world).market.n_steps
    n_steps = min(steps, MAX_ROLLOUT_STEPS)
    return {
        "n_steps": n_steps,
        "batch_size": max(1, n_steps * num_envs // MINIBATCHES),
        "gamma": 1.0 - 1.0 / (DISCOUNT_HORIZON_SESSIONS * steps),
    }


def _assign(data: dict, keys: list[str], value: Any) -> None:
    for index, key in enumerate(keys[:-1]):
        child = data.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {'.'.join(keys)}: {'.'.join(keys[: index + 1])} is not a mapping")
        data = child
    data[keys[-1]] = value


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping; got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}; accepted under {prefix.rstrip('.') or 'the top level'}: "
            f"{sorted(fields)}"
        )
    values = {}
    for name, value in data.items():
        key = prefix + name
        default = (
            fields[name].default_factory()
            if fields[name].default_factory is not dataclasses.MISSING
            else fields[name].default
        )
        if dataclasses.is_dataclass(default):
            values[name] = _build(type(default), value, key + ".")
        else:
            values[name] = _typed(key, value, default)
    return cls(**values)


def _typed(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false; got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ConfigError(f"{key} must be an integer; got {value!r}")
        return int(value)
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number; got {value!r}")
        return float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string; got {value!r}")
    elif isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping; got {value!r}")
        return dict(value)
    elif isinstance(default, tuple) or (default is None and value is not None):  # None: an optional list
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a list of strings; got {value!r}")
        return tuple(value)
    return value


def _check(config: Config, given: bool = True) -> None:
    positive = {
        "torch_threads": config.torch_threads,
        "total_timesteps": config.total_timesteps,
        "checkpoint_frequency": config.checkpoint_frequency,
        "env.num_envs": config.env.num_envs,
        "evaluation.frequency": config.evaluation.frequency,
        "evaluation.episodes": config.evaluation.episodes,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key} must be ≥ 1; got {value}")
    if not (math.isfinite(config.evaluation.risk_aversion) and config.evaluation.risk_aversion > 0):
        raise ConfigError(f"evaluation.risk_aversion must be > 0; got {config.evaluation.risk_aversion!r}")
    if config.seed < 0 or config.evaluation.seed < 0:
        raise ConfigError("seed and evaluation.seed must be ≥ 0")
    if not config.experiment or any(c in config.experiment for c in "/\\") or config.experiment.startswith("."):
        raise ConfigError(f"experiment must be a plain folder name; got {config.experiment!r}")
    if config.device not in DEVICES:
        raise ConfigError(f"device must be one of {list(DEVICES)}; got {config.device!r}")
    try:
        check_close_starts(config.env.close_starts, config.env.close_window, config.env.close_inventory)
    except ValueError as error:
        raise ConfigError(f"env.{error}") from None
    if config.env.reward not in REWARD_VARIANTS:
        raise ConfigError(f"env.reward must be one of {list(REWARD_VARIANTS)}; got {config.env.reward!r}")
    presets = preset_names()
    if config.world.preset not in presets:
        raise ConfigError(f"world.preset must be one of {presets}; got {config.world.preset!r}")
    fields = [f.name for f in dataclasses.fields(Market)] if config.world.file else preset_fields(config.world.preset)
    unknown = sorted(set(config.world.overrides) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key world.overrides.{unknown[0]}; accepted: {fields}")
    if config.world.features is not None and not (config.world.file or is_market_preset(config.world.preset)):
        raise ConfigError(
            "world.features chooses a market's observed features; a single-asset world's are its field "
            "world.overrides.observation_features"
        )
    try:
        world = world_of(config)
    except ValueError as error:
        where = "world.features" if "features" in str(error) else "world.overrides"
        raise ConfigError(f"{where}: {error}") from None
    _check_algorithm(config.algorithm)
    for entry in config.evaluation.baselines:
        try:
            spec = parse_spec(entry)
        except ValueError as error:
            raise ConfigError(f"evaluation.baselines: {error}") from None
        if spec.name not in list_policies():
            raise ConfigError(
                f"evaluation.baselines: unknown policy {spec.name!r}; accepted: {sorted(list_policies())}"
            )
        # A given baseline must quote this market (the default ladder leaves out, with a note, what cannot);
        # optimal is left out with a warning where it cannot be built, and the calibrated skew's parameters are
        # checked without running its backtest.
        try:
            if spec.name == "linear_skew_calibrated" and (given or spec.params):
                POLICIES[spec.name].check_parameters(spec.params)
                one_asset_world(spec.name, world)
            elif (given or spec.params) and spec.name != "optimal":
                make_policy(spec.name, world, **spec.params)
        except ValueError as error:
            raise ConfigError(f"evaluation.baselines: {error}") from None


def world_of(config: Config) -> World | Market | Interface:
    """The validated market of a config's market file or preset, with its overrides (``envs.presets.resolve_any``);
    with ``world.features``, the interface to it observing those features (``envs.interface.derived_interface``)."""
    if config.world.file:
        world = resolve_any(read_market_file(config.world.file), **config.world.overrides)
    else:
        world = resolve_any(config.world.preset, **config.world.overrides)
    if config.world.features is None:
        return world
    return derived_interface(world, features=tuple(config.world.features))


def _check_algorithm(algorithm: AlgorithmConfig) -> None:
    if algorithm.name not in ALGORITHMS:
        raise ConfigError(f"algorithm.name must be one of {list(ALGORITHMS)}; got {algorithm.name!r}")
    if not (math.isfinite(algorithm.final_quote_std) and algorithm.final_quote_std >= 0):
        raise ConfigError(
            f"algorithm.final_quote_std must be a finite number ≥ 0 (0: no ceiling); got {algorithm.final_quote_std!r}"
        )
    accepted = [
        p
        for p in inspect.signature(algorithm_class(algorithm.name).__init__).parameters
        if p
        not in (
            "self",
            "policy",
            "env",
            "policy_kwargs",
            "tensorboard_log",
            "verbose",
            "seed",
            "device",
            "_init_setup_model",
        )
    ]
    for key, value in algorithm.hyperparameters.items():
        if key not in accepted:
            raise ConfigError(f"unknown key algorithm.hyperparameters.{key}; accepted for {algorithm.name}: {accepted}")
        _plain(f"algorithm.hyperparameters.{key}", value)
        if isinstance(value, dict):
            _check_schedule(f"algorithm.hyperparameters.{key}", key, value)
    for key, value in algorithm.policy_kwargs.items():
        if key not in POLICY_KWARGS:
            raise ConfigError(f"unknown key algorithm.policy_kwargs.{key}; accepted: {list(POLICY_KWARGS)}")
        _plain(f"algorithm.policy_kwargs.{key}", value)
    activation = algorithm.policy_kwargs.get("activation_fn")
    if activation is not None and activation not in ACTIVATIONS:
        raise ConfigError(
            f"algorithm.policy_kwargs.activation_fn must be one of {list(ACTIVATIONS)}; got {activation!r}"
        )


def _check_schedule(name: str, key: str, value: dict) -> None:
    ends = value.get("linear")
    ok = (
        key in SCHEDULED
        and set(value) == {"linear"}
        and isinstance(ends, (list, tuple))
        and len(ends) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in ends)
    )
    if not ok:
        raise ConfigError(
            f"{name} must be a positive number or {{linear: [start, end]}} with positive ends "
            f"(schedules are accepted for {list(SCHEDULED)}); got {value!r}"
        )


def schedule(value: Any) -> Any:
    """A hyperparameter as SB3 wants it: numbers as they are, ``{linear: [start, end]}`` as a function of
    SB3's remaining progress (1 at the start of training, 0 at ``total_timesteps``)."""
    if not isinstance(value, dict):
        return value
    start, end = value["linear"]
    return lambda progress_remaining: end + (start - end) * progress_remaining


def _plain(key: str, value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be finite; got {value!r}")
    if isinstance(value, dict):
        for inner, item in value.items():
            _plain(f"{key}.{inner}", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _plain(f"{key}[{index}]", item)
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        raise ConfigError(f"{key} must be plain data (numbers, strings, lists, mappings); got {value!r}")
