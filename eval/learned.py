"""Trained policies: the run-folder layout shared with ``train``, and loading a model as a policy.

Model files are SB3 zip archives; loading one unpickles parts of it, so load only files you trust.
Observation-normalization statistics travel as plain JSON, never as a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from envs import World

CONFIG_FILE = "config.yaml"
FINAL_DIR = "final"
CHECKPOINT_DIR = "checkpoints"
MODEL_FILE = "model.zip"
NORMALIZATION_FILE = "normalization.json"
ALGORITHMS = ("PPO", "A2C", "SAC", "TD3", "DDPG")


def algorithm_class(name: str) -> type:
    """The stable-baselines3 algorithm class called ``name`` (one with a Box action space)."""
    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}; got {name!r}")
    import stable_baselines3

    return getattr(stable_baselines3, name)


def normalization_stats(vec_normalize: Any) -> dict[str, Any]:
    """The observation and return statistics of an SB3 ``VecNormalize``, as JSON-ready data."""
    stats: dict[str, Any] = {
        "normalize_observation": bool(vec_normalize.norm_obs),
        "normalize_reward": bool(vec_normalize.norm_reward),
        "return_mean": float(vec_normalize.ret_rms.mean),
        "return_var": float(vec_normalize.ret_rms.var),
        "return_count": float(vec_normalize.ret_rms.count),
        "clip_obs": float(vec_normalize.clip_obs),
        "clip_reward": float(vec_normalize.clip_reward),
        "gamma": float(vec_normalize.gamma),
        "epsilon": float(vec_normalize.epsilon),
    }
    if vec_normalize.norm_obs:  # SB3 keeps observation statistics only when it normalizes them
        stats.update(
            obs_mean=vec_normalize.obs_rms.mean.tolist(),
            obs_var=vec_normalize.obs_rms.var.tolist(),
            obs_count=float(vec_normalize.obs_rms.count),
        )
    return stats


class LearnedPolicy:
    """A trained SB3 model behind the same ``predict`` as the baselines (deterministic by default)."""

    def __init__(self, model: Any, world: World, normalization: dict[str, Any] | None) -> None:
        self.model = model
        self.world = world
        self.normalization = normalization

    def normalize(self, observation: np.ndarray) -> np.ndarray:
        stats = self.normalization
        if not stats or not stats["normalize_observation"]:
            return observation
        scaled = (observation - np.asarray(stats["obs_mean"])) / np.sqrt(
            np.asarray(stats["obs_var"]) + stats["epsilon"]
        )
        return np.clip(scaled, -stats["clip_obs"], stats["clip_obs"]).astype(np.float32)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        return self.model.predict(self.normalize(np.asarray(observation)), state, episode_start, deterministic)


def find_model(path: str | Path) -> tuple[Path, Path | None]:
    """Resolve a run folder (its final model, else its latest checkpoint) or a model file.

    Returns ``(model_file, run_folder or None)``.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / FINAL_DIR / MODEL_FILE]
        checkpoints = sorted((path / CHECKPOINT_DIR).glob(f"*/{MODEL_FILE}"), key=lambda p: _step_of(p.parent))
        candidates += checkpoints[::-1]
        for candidate in candidates:
            if candidate.is_file():
                return candidate, path
        raise ValueError(f"no model in run folder {path}: expected {FINAL_DIR}/{MODEL_FILE} or a checkpoint")
    if not path.is_file():
        raise ValueError(f"model not found: {path} is neither a run folder nor a model file")
    for parent in list(path.parents)[:3]:
        if (parent / CONFIG_FILE).is_file():
            return path, parent
    return path, None


def _step_of(folder: Path) -> int:
    digits = "".join(c for c in folder.name if c.isdigit())
    return int(digits) if digits else -1


def load_learned(path: str | Path, world: World, device: str = "cpu") -> LearnedPolicy:
    """Load a trained model (run folder or model file) as a policy for ``world``.

    Raises ``ValueError`` for a missing, unreadable or corrupted model, or one whose observations do
    not match the world's.
    """
    model_file, run_folder = find_model(path)
    algorithm = "PPO"
    if run_folder is not None:
        try:
            config = yaml.safe_load((run_folder / CONFIG_FILE).read_text()) or {}
            algorithm = config.get("algorithm", {}).get("name", "PPO") if isinstance(config, dict) else "PPO"
        except (OSError, yaml.YAMLError, AttributeError) as error:
            raise ValueError(f"cannot read {run_folder / CONFIG_FILE}: {error}") from None
    cls = algorithm_class(algorithm)
    try:
        model = cls.load(model_file, device=device)
    except Exception as error:  # SB3 raises many kinds for a truncated or foreign file
        raise ValueError(f"cannot load model {model_file}: {type(error).__name__}: {error}") from None
    expected = (len(world.observation_names),)
    if model.observation_space.shape != expected:
        raise ValueError(
            f"model {model_file} observes shape {model.observation_space.shape}, but world gives "
            f"{expected} ({', '.join(world.observation_names)}); use the world it was trained on"
        )
    normalization = None
    stats_file = model_file.parent / NORMALIZATION_FILE
    if stats_file.is_file():
        try:
            normalization = json.loads(stats_file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read normalization statistics {stats_file}: {error}") from None
    return LearnedPolicy(model, world, normalization)
