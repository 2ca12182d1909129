"""Trained policies: loading a model from a run folder as a policy that carries its training world.

A learned policy's observations and actions are relative to the world it was trained in. Evaluated in
another world, it sees that world's states re-expressed in its training world's units, and its actions
are mapped to prices with its training world's offset range, so its quotes mean the same prices
everywhere. Model files are SB3 zip archives; loading one unpickles parts of it, so load only files
you trust. Observation-normalization statistics travel as plain JSON, never as a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from baselines.policy import Policy
from envs import World, action_to_hedge, action_to_quotes, observation_at, quotes_to_action, translate_observation
from envs.market import Market
from envs.observation import observation_names
from eval.run_folder import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    FINAL_DIR,
    MODEL_FILE,
    NORMALIZATION_FILE,
    RunFolder,
    load_world,
)

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


def normalize_observation(stats: dict[str, Any] | None, observation: np.ndarray) -> np.ndarray:
    """Observations as the network saw them in training (``normalization_stats``; unchanged without them)."""
    if not stats or not stats["normalize_observation"]:
        return observation
    scaled = (observation - np.asarray(stats["obs_mean"])) / np.sqrt(np.asarray(stats["obs_var"]) + stats["epsilon"])
    return np.clip(scaled, -stats["clip_obs"], stats["clip_obs"]).astype(np.float32)


class LearnedDealer(Policy):
    """A model trained on a market of any number of assets (``envs.gym_env``), acting as the baselines do: its
    observations and actions are the market's own (``envs.observation``, ``envs.spaces``)."""

    name = "learned"

    def __init__(self, model: Any, dealer: Market, normalization: dict[str, Any] | None) -> None:
        super().__init__(dealer)
        expected = (len(observation_names(dealer)),)
        if model.observation_space.shape != expected:
            raise ValueError(
                f"the model observes shape {model.observation_space.shape}, but this dealer gives {expected} "
                f"({', '.join(observation_names(dealer))}); use the dealer it was trained on"
            )
        self.model = model
        self.normalization = normalization

    def act(self, state):
        steps_left = np.rint(state["time_to_close"] / self.market.dt).astype(np.int64)
        observation = observation_at(
            self.view, state["inventory"], steps_left, state["regime"], state["hedge_position"]
        )
        actions, _ = self.model.predict(normalize_observation(self.normalization, observation), deterministic=True)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(self.view, actions)
        trade = action_to_hedge(self.view, actions) if self.market.n_hedges else None
        return np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf), trade

    def quotes(self, inventory: np.ndarray, time_to_close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The quotes with every hedge position flat, in the first regime."""
        return self(inventory, None, time_to_close)[:2]


class LearnedPolicy:
    """A trained SB3 model behind the same ``predict`` as the baselines (deterministic by default).

    ``world`` is the world it acts in; ``training_world`` (default: the same) the one whose scaling its
    network learned. ``ValueError`` if the two observe different entries.
    """

    def __init__(
        self,
        model: Any,
        world: World,
        normalization: dict[str, Any] | None,
        training_world: World | None = None,
    ) -> None:
        self.model = model
        self.world = world
        self.normalization = normalization
        self.training_world = training_world if training_world is not None else world
        if self.training_world.observation_names != world.observation_names:
            raise ValueError(
                f"the policy cannot act in this world: it was trained observing "
                f"{list(self.training_world.observation_names)}, this world gives {list(world.observation_names)}; "
                "evaluate it in a world with the same observation_features"
            )
        self.translates = _scaling(self.training_world) != _scaling(world)

    def normalize(self, observation: np.ndarray) -> np.ndarray:
        return normalize_observation(self.normalization, observation)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        observation = np.asarray(observation)
        if not self.translates:
            return self.model.predict(self.normalize(observation), state, episode_start, deterministic)
        single = observation.ndim == 1
        batch = observation[None, :] if single else observation
        own = translate_observation(self.world, self.training_world, batch)
        actions, state = self.model.predict(self.normalize(own), state, episode_start, deterministic)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(self.training_world, actions)
        trade = action_to_hedge(self.training_world, actions)
        actions = quotes_to_action(
            self.world, np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf), trade
        )
        return (actions[0] if single else actions), state


def _scaling(world: World) -> tuple:
    """What a policy's observations and actions are relative to."""
    return (
        world.offset_range,
        world.inventory_unit,
        world.time_unit,
        world.n_steps,
        world.max_sigma,
        tuple(world.sigma_levels),
        world.dt,
        world.hedge_unit,
        world.hedge_max_trade,
        world.hedge_lot,
    )


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


def _load(path: str | Path, device: str) -> tuple[Any, Path, World | Market | None, dict[str, Any] | None]:
    """``(model, model file, recorded training world or None, normalization statistics or None)``."""
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
    training_world = None
    if run_folder is not None and RunFolder(run_folder).world.is_file():
        training_world = load_world(RunFolder(run_folder).world)
    normalization = None
    stats_file = model_file.parent / NORMALIZATION_FILE
    if stats_file.is_file():
        try:
            normalization = json.loads(stats_file.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read normalization statistics {stats_file}: {error}") from None
    return model, model_file, training_world, normalization


def load_learned(path: str | Path, world: World, device: str = "cpu") -> LearnedPolicy:
    """Load a trained model (run folder or model file) as a policy for ``world``.

    A run folder's recorded training world (``world.json``) sets the policy's scaling; a bare model
    file without one is taken to have been trained in ``world``. Raises ``ValueError`` for a missing,
    unreadable or corrupted model, one trained on a dealer, or one whose observation layout differs from
    the world's.
    """
    model, model_file, training_world, normalization = _load(path, device)
    if isinstance(training_world, Market):
        raise ValueError(
            f"{path} was trained on a dealer of {training_world.n_assets} assets, not a single-asset world; "
            "evaluate it with python -m eval --scenario two_assets|dealer --policy run:PATH"
        )
    training_world = training_world or world
    expected = (len(training_world.observation_names),)
    if model.observation_space.shape != expected:
        raise ValueError(
            f"model {model_file} observes shape {model.observation_space.shape}, but its world gives "
            f"{expected} ({', '.join(training_world.observation_names)}); use the world it was trained on"
        )
    return LearnedPolicy(model, world, normalization, training_world)


def load_learned_dealer(path: str | Path, dealer: Market, device: str = "cpu") -> LearnedDealer:
    """Load a model trained on ``dealer`` (run folder or model file) as a dealer policy. Raises ``ValueError``
    as ``load_learned``, and for a run recorded on another dealer or on a single-asset world."""
    model, _, training_world, normalization = _load(path, device)
    if training_world is not None and training_world != dealer:
        trained = "a single-asset world" if isinstance(training_world, World) else "another dealer"
        raise ValueError(f"{path} was trained on {trained}; a learned dealer is evaluated on its own training dealer")
    return LearnedDealer(model, dealer, normalization)
