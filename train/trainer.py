"""One training run, top to bottom: run folder, seeding, environment, agent, learning loop, final report."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecNormalize
from torch.utils.tensorboard import SummaryWriter

from envs.sb3_vec_env import MarketMakingVecEnv
from eval.files import atomic_write_json, atomic_write_text
from eval.learned import CONFIG_FILE, FINAL_DIR, MODEL_FILE, NORMALIZATION_FILE, algorithm_class, normalization_stats
from eval.run import Job, evaluate_and_publish
from eval.specs import PolicySpec
from eval.tensorboard_output import log_hparams
from train.checkpoints import latest_checkpoint, restore_normalization
from train.comparison import LEARNED, TB_DIR, ComparisonCallback, learned_view, resolve_baselines
from train.config import Config, ConfigError, load_config, schedule, world_of

ACTIVATION_CLASSES = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
    "silu": torch.nn.SiLU,
}
INTERRUPTED = 130
REPORT_DIR = "report"


def new_run_dir(config: Config, root: Path = Path("runs")) -> Path:
    """``runs/<experiment>/<YYYYmmdd-HHMMSS>-seed<seed>`` (suffixed if taken)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / config.experiment / f"{stamp}-seed{config.seed}"
    candidate, n = base, 1
    while candidate.exists():
        candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
    return candidate


def load_run_config(run_dir: Path, overrides: list[str]) -> Config:
    """The resolved config saved in a run folder, with ``--set`` overrides (e.g. a larger budget)."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise ConfigError(f"--resume {run_dir}: no {CONFIG_FILE} there; is it a run folder?")
    return load_config(run_dir / CONFIG_FILE, overrides)


def policy_kwargs(config: Config) -> dict[str, Any]:
    kwargs = dict(config.algorithm.policy_kwargs)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = ACTIVATION_CLASSES[kwargs["activation_fn"]]
    return kwargs


def build_env(config: Config, world) -> VecNormalize:
    venv = MarketMakingVecEnv(config.env.num_envs, world=world, reward=config.env.reward)
    venv.seed(config.seed)
    gamma = config.algorithm.hyperparameters.get("gamma", 0.99)
    return VecNormalize(
        venv, norm_obs=config.env.normalize_observation, norm_reward=config.env.normalize_reward, gamma=gamma
    )


def train(config: Config, run_dir: Path, resume: bool = False, device: str | None = None) -> int:
    """Train (or resume) into ``run_dir``; returns the exit code (0 done, 130 interrupted with a checkpoint)."""
    world = world_of(config)
    device = device or config.device
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for, but torch sees no CUDA device; use auto or cpu")
    algorithm = algorithm_class(config.algorithm.name)
    env = build_env(config, world)
    history: list[dict[str, Any]] = []
    if resume:
        checkpoint, state, normalization = latest_checkpoint(run_dir)
        try:
            model = algorithm.load(checkpoint / MODEL_FILE, env=env, device=device)
        except Exception as error:
            raise ValueError(f"checkpoint {checkpoint} is corrupted: {type(error).__name__}: {error}") from None
        restore_normalization(env, normalization)
        history = state.get("history", [])
        print(f"resuming {run_dir} from {checkpoint.name} at step {model.num_timesteps:,}")
    else:
        run_dir.mkdir(parents=True, exist_ok=False)
        atomic_write_text(run_dir / CONFIG_FILE, yaml.safe_dump(config.as_dict(), sort_keys=False))
        model = algorithm(
            "MlpPolicy",
            env,
            seed=config.seed,
            device=device,
            policy_kwargs=policy_kwargs(config),
            **{key: schedule(value) for key, value in config.algorithm.hyperparameters.items()},
        )
    model.set_logger(configure(str(run_dir / TB_DIR / LEARNED), ["tensorboard"]))
    baselines = resolve_baselines(world, config.evaluation.baselines, config.evaluation.seed)
    callback = ComparisonCallback(config, world, run_dir, env, baselines, history)
    remaining = config.total_timesteps - model.num_timesteps
    started, start_step = time.perf_counter(), model.num_timesteps
    try:
        if remaining > 0:
            model.learn(total_timesteps=remaining, callback=callback, reset_num_timesteps=not resume)
    except KeyboardInterrupt:
        callback._on_training_end()
        saved = callback.checkpoint()
        print(f"\ninterrupted at step {model.num_timesteps:,}; checkpoint saved to {saved}")
        print(f"resume with: python -m train --resume {run_dir}")
        return INTERRUPTED
    wall = time.perf_counter() - started
    final = run_dir / FINAL_DIR
    final.mkdir(exist_ok=True)
    model.save(final / MODEL_FILE)
    atomic_write_json(final / NORMALIZATION_FILE, normalization_stats(env))
    callback.checkpoint()
    learned = learned_view(model, world, env)
    spec = PolicySpec(LEARNED, "run", {}, str(run_dir))
    job = Job(config.world.preset, world, {LEARNED: (spec, learned), **baselines})
    document = evaluate_and_publish(
        run_dir / REPORT_DIR, [job], config.evaluation.episodes, config.evaluation.seed, 0.1, f"Run `{run_dir}`"
    )
    learned_metrics = document["policies"][LEARNED]
    timing = {
        "wall_seconds": wall,
        "env_steps": model.num_timesteps - start_step,
        "env_steps_per_second": (model.num_timesteps - start_step) / wall if wall > 0 else 0.0,
    }
    atomic_write_json(run_dir / "training.json", {"num_timesteps": model.num_timesteps, **timing})
    with SummaryWriter(log_dir=str(run_dir / TB_DIR / LEARNED)) as writer:
        log_hparams(writer, flat_hyperparameters(config), learned_metrics)
    _print_summary(run_dir, document, timing)
    return 0


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


def _print_summary(run_dir: Path, document: dict[str, Any], timing: dict[str, float]) -> None:
    print(
        f"\ntrained {timing['env_steps']:,} env steps in {timing['wall_seconds']:.0f} s "
        f"({timing['env_steps_per_second']:,.0f} steps/s)"
    )
    for label, metrics in document["policies"].items():
        score = metrics.get("optimality_score")
        extra = f"  optimality score {score:.3f}" if score is not None else ""
        print(f"  {label:<28} reward {metrics['reward_mean']:9.3f} ± {metrics['reward_std']:.3f}{extra}")
    print(f"report: {run_dir / REPORT_DIR / 'report.md'}")
    print(f"tensorboard --logdir {run_dir / TB_DIR}")
