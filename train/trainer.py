"""One training run, top to bottom: run folder, seeding, environment, agent, learning loop, final report.

``train()`` is a library call: it returns a ``TrainResult`` and leaves printing of summaries and exit
codes to the CLI. Bad input (config, run folder, world, checkpoints) raises ``ValueError`` before any
training; a failure during training saves a checkpoint where the model is sound and raises
``TrainingFailed`` with the original error as its cause.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecNormalize
from torch.utils.tensorboard import SummaryWriter

from envs import World
from envs.market import Market
from envs.sb3_vec_env import MarketMakingVecEnv
from eval.evaluate import build_baselines
from eval.files import atomic_write_json, atomic_write_text
from eval.learned import algorithm_class, normalization_stats
from eval.run import Job, evaluate_and_publish
from eval.run_folder import MODEL_FILE, NORMALIZATION_FILE, RunFolder, load_world, world_document
from eval.specs import WORLD_OVERRIDES, PolicySpec, parse_set
from eval.tensorboard_output import log_hparams
from train.checkpoints import list_checkpoints, load_latest, remove_staging, restore_normalization
from train.comparison import (
    LEARNED,
    ComparisonCallback,
    EvaluationHook,
    FiniteGuard,
    NonFiniteTraining,
    learned_view,
)
from train.config import Config, ConfigError, load_config, schedule, world_of
from train.exploration import QuoteStdCeiling, final_action_std

ACTIVATION_CLASSES = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
    "silu": torch.nn.SiLU,
}


@dataclasses.dataclass
class TrainResult:
    """What a run produced. ``status`` is ``"done"`` or ``"interrupted"`` (a checkpoint was saved);
    ``metrics`` are the learned policy's final metrics (empty when interrupted); ``document`` the final
    ``metrics.json``; ``timing`` wall seconds, env steps and steps per second of this invocation."""

    run_dir: Path
    status: str
    num_timesteps: int
    metrics: dict[str, Any]
    document: dict[str, Any] | None
    timing: dict[str, float]
    checkpoint: Path | None


class TrainingFailed(RuntimeError):
    """Training failed after it started; ``checkpoint`` is the newest sound checkpoint (or None)."""

    def __init__(self, message: str, run_dir: Path, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        self.checkpoint = checkpoint


def new_run_dir(config: Config, root: Path = Path("runs"), label: str | None = None) -> Path:
    """``runs/<experiment>/<YYYYmmdd-HHMMSS>-<label>``, the label ``seed<seed>`` by default (suffixed if taken)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / config.experiment / f"{stamp}-{label or f'seed{config.seed}'}"
    candidate, n = base, 1
    while candidate.exists():
        candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
    return candidate


def load_run_config(run_dir: Path, overrides: list[str]) -> Config:
    """The resolved config saved in a run folder, with ``--set`` overrides (e.g. a larger budget).

    A resumed run trains on its recorded world, so world fields cannot be overridden."""
    run = RunFolder(run_dir)
    if not run.config.is_file():
        raise ConfigError(f"--resume {run_dir}: no {run.config.name} there; is it a run folder?")
    changed = [key for key in parse_set(overrides) if key.startswith(("world.", WORLD_OVERRIDES))]
    if changed:
        raise ConfigError(
            f"--set {changed[0]}: a resumed run trains on its recorded world; start a new run to change the world"
        )
    return load_config(run.config, overrides)


def training_world(config: Config, run_dir: Path, resume: bool) -> World:
    """The world to train on: the run's recorded ``world.json`` when resuming (saying so if the preset has
    changed since), else the config's."""
    world = world_of(config)
    run = RunFolder(run_dir)
    if not resume or not run.world.is_file():
        return world
    recorded = load_world(run.world)
    if recorded != world.resolved():
        print(
            f"note: preset {config.world.preset!r} (with the run's overrides) now gives a different world than "
            f"this run was trained on; resuming on the recorded world in {run.world}"
        )
    return recorded


def policy_kwargs(config: Config) -> dict[str, Any]:
    kwargs = dict(config.algorithm.policy_kwargs)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = ACTIVATION_CLASSES[kwargs["activation_fn"]]
    return kwargs


def build_env(config: Config, world: World | Market) -> VecNormalize:
    venv = MarketMakingVecEnv(
        config.env.num_envs,
        world=world,
        reward=config.env.reward,
        close_starts=config.env.close_starts,
        close_window=config.env.close_window,
        close_inventory=config.env.close_inventory,
    )
    venv.seed(config.seed)
    gamma = config.algorithm.hyperparameters.get("gamma", 0.99)
    return VecNormalize(
        venv, norm_obs=config.env.normalize_observation, norm_reward=config.env.normalize_reward, gamma=gamma
    )


def train(
    config: Config,
    run_dir: Path,
    resume: bool = False,
    device: str | None = None,
    on_evaluation: EvaluationHook | None = None,
) -> TrainResult:
    """Train (or resume) into ``run_dir``.

    Raises ``ValueError`` for bad input before training starts, and ``TrainingFailed`` (caused by the
    original error) for a failure after; Ctrl-C returns a result with status ``"interrupted"``.
    """
    run_dir = Path(run_dir).absolute()
    run = RunFolder(run_dir)
    device = device or config.device
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for, but torch sees no CUDA device; use auto or cpu")
    if not resume and run_dir.exists():
        raise ConfigError(f"run folder {run_dir} already exists; pick a new folder or --resume it")
    torch.set_num_threads(config.torch_threads)
    world = training_world(config, run_dir, resume)
    algorithm = algorithm_class(config.algorithm.name)
    env = build_env(config, world)
    history: list[dict[str, Any]] = []
    if resume:
        remove_staging(run_dir)
        checkpoint, model, state, normalization = load_latest(
            run_dir, lambda path: algorithm.load(path, env=env, device=device)
        )
        restore_normalization(env, normalization)
        history = state.get("history", [])
        print(f"resuming {run_dir} from {checkpoint.name} at step {model.num_timesteps:,}")
    else:
        run_dir.mkdir(parents=True, exist_ok=False)
        atomic_write_text(run.config, yaml.safe_dump(config.as_dict(), sort_keys=False))
        atomic_write_json(run.world, world_document(world, label_of(config)))
        model = algorithm(
            "MlpPolicy",
            env,
            seed=config.seed,
            device=device,
            policy_kwargs=policy_kwargs(config),
            **{key: schedule(value) for key, value in config.algorithm.hyperparameters.items()},
        )
    model.set_logger(configure(str(run.tensorboard / LEARNED), ["tensorboard"]))
    baselines, notes = build_baselines(world, config.evaluation.baselines)
    comparison = ComparisonCallback(config, world, run_dir, env, baselines, history, on_evaluation)
    guard = FiniteGuard()
    callbacks = [guard, comparison] + exploration_ceiling(config, world, model)
    remaining = config.total_timesteps - model.num_timesteps
    started, start_step = time.perf_counter(), model.num_timesteps
    try:
        if remaining > 0:
            model.learn(total_timesteps=remaining, callback=CallbackList(callbacks), reset_num_timesteps=not resume)
    except KeyboardInterrupt:
        comparison.close()
        saved = comparison.checkpoint()
        return TrainResult(
            run_dir, "interrupted", model.num_timesteps, {}, None, _timing(started, start_step, model), saved
        )
    except Exception as error:
        comparison.close()
        raise _failure(error, comparison, run_dir, model) from error
    try:
        job = Job(label_of(config), world, baselines, tuple(notes))
        return _finish(config, job, run, model, env, comparison, _timing(started, start_step, model))
    except Exception as error:
        raise _failure(error, comparison, run_dir, model) from error


def label_of(config: Config) -> str:
    """The world's name in reports: its market file's stem, or its preset."""
    return Path(config.world.file).stem if config.world.file else config.world.preset


def exploration_ceiling(config: Config, world: World | Market, model: Any) -> list[QuoteStdCeiling]:
    """The quote legs' std ceiling (``train.exploration``), in every market, where it applies: a policy with a
    state-independent ``log_std`` and ``algorithm.final_quote_std`` > 0."""
    policy = model.policy
    state_independent = isinstance(getattr(policy, "log_std", None), torch.nn.Parameter) and not policy.use_sde
    if config.algorithm.final_quote_std == 0 or not state_independent:
        return []
    initial = math.exp(config.algorithm.policy_kwargs.get("log_std_init", 0.0))  # 0.0: SB3's default
    final = final_action_std(world, config.algorithm.final_quote_std)
    return [QuoteStdCeiling(initial, final, config.total_timesteps)]


def _failure(error: Exception, comparison: ComparisonCallback, run_dir: Path, model: Any) -> TrainingFailed:
    """Save a checkpoint of a sound model (never of non-finite parameters) and describe the failure."""
    saved = None
    if not isinstance(error, NonFiniteTraining):
        try:
            saved = comparison.checkpoint()
        except Exception:  # the failure may be the disk itself; the older checkpoints stay as they are
            saved = None
    if saved is None:
        kept = list_checkpoints(run_dir)
        saved = kept[-1] if kept else None
    what = "training went non-finite" if isinstance(error, NonFiniteTraining) else "training failed"
    return TrainingFailed(f"{what} at step {model.num_timesteps:,}: {error}", run_dir, saved)


def _timing(started: float, start_step: int, model: Any) -> dict[str, float]:
    wall = time.perf_counter() - started
    steps = model.num_timesteps - start_step
    return {"wall_seconds": wall, "env_steps": steps, "env_steps_per_second": steps / wall if wall > 0 else 0.0}


def _finish(config, job, run, model, env, comparison, timing) -> TrainResult:
    """Final model, final checkpoint, the paired evaluation report, timing and the hparams entry."""
    run.final.mkdir(exist_ok=True)
    model.save(run.final / MODEL_FILE)
    atomic_write_json(run.final / NORMALIZATION_FILE, normalization_stats(env))
    checkpoint = comparison.checkpoint()
    learned = learned_view(model, job.world, env)
    spec = PolicySpec(LEARNED, "run", {}, str(run.root))
    evaluation = config.evaluation
    job = dataclasses.replace(job, policies={LEARNED: (spec, learned), **job.policies})
    document = evaluate_and_publish(
        run.report,
        [job],
        evaluation.episodes,
        evaluation.seed,
        evaluation.risk_aversion,
        f"Run `{run.root}`",
        warn=False,
    )
    learned_metrics = document["policies"][LEARNED]
    atomic_write_json(run.training, {"num_timesteps": model.num_timesteps, **timing})
    with SummaryWriter(log_dir=str(run.tensorboard / LEARNED)) as writer:
        log_hparams(writer, flat_hyperparameters(config), learned_metrics)
    return TrainResult(run.root, "done", model.num_timesteps, learned_metrics, document, timing, checkpoint)


def flat_hyperparameters(config: Config) -> dict[str, Any]:
    """The config as ``{"algorithm.hyperparameters.learning_rate": 0.0003, ...}`` for the hparams tab."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item)
        else:
            flat[prefix] = value if isinstance(value, (int, float, str, bool)) else json.dumps(value)

    walk("", config.as_dict())
    return flat
