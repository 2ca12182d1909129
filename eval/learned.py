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
from envs import (
    Interface,
    action_to_hedge,
    action_to_quotes,
    interface_of,
    observation_at,
    quotes_to_action,
    translate_observation,
)
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


class LearnedPolicy(Policy):
    """A trained SB3 model as a policy of any market (deterministic by default): ``predict`` on the env's
    observations, and, as every ``baselines.Policy``, ``act`` on decoded states and a call on positions.

    ``world`` is the market it acts in; ``training_world`` (default: the same) the one whose interface its network
    learned: in another market it sees that market's states re-expressed in its training interface's units, and its
    actions are mapped to prices with its training interface, so its quotes mean the same prices everywhere.
    In the market it was trained in, observed through other features than its own (a belief it was given, say), it
    observes its own: ``observes`` is then its training interface, on which evaluation rolls it out (the same market,
    the same random streams). ``ValueError`` if the two observe different columns otherwise, or the model another
    shape.
    """

    name = "learned"

    def __init__(
        self,
        model: Any,
        world: Any,
        normalization: dict[str, Any] | None,
        training_world: Any = None,
    ) -> None:
        super().__init__(world)
        self.model = model
        self.normalization = normalization
        self.training_world = training_world if training_world is not None else world
        self.training_view = interface_of(self.training_world)
        trained, here = observation_names(self.training_view), observation_names(self.view)
        self.observes = None
        if trained != here and self.training_view.market == self.market:
            self.view, self.observes, here = self.training_view, self.training_view, trained
        if trained != here:
            raise ValueError(
                f"the policy cannot act in this world: it was trained observing {list(trained)}, this world gives "
                f"{list(here)}; evaluate it in a world with the same assets, hedges and observation features"
            )
        if model.observation_space.shape != (len(trained),):
            raise ValueError(
                f"the model observes shape {model.observation_space.shape}, but its world gives {(len(trained),)} "
                f"({', '.join(trained)}); use the world it was trained on"
            )
        self.translates = _scaling(self.training_view) != _scaling(self.view)

    def normalize(self, observation: np.ndarray) -> np.ndarray:
        return normalize_observation(self.normalization, observation)

    def actions(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """The network's actions for a batch of observations, through its training interface where it differs."""
        if not self.translates:
            return self.model.predict(self.normalize(observation), deterministic=deterministic)[0]
        own = translate_observation(self.view, self.training_view, observation)
        actions, _ = self.model.predict(self.normalize(own), deterministic=deterministic)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(self.training_view, actions)
        trade = action_to_hedge(self.training_view, actions)
        return quotes_to_action(self.view, np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf), trade)

    def act(self, state):
        """What ``predict`` asks for at the books' states (features at zero: no history), as quotes [price] and
        hedge trades [lots]."""
        steps_left = np.rint(state["time_to_close"] / self.market.dt).astype(np.int64)
        observation = observation_at(
            self.view,
            state["inventory"],
            steps_left,
            state["regime"],
            state["hedge_position"],
            state.get("flow_belief"),
        )
        actions, _ = self.predict(observation)
        bid, ask, bid_quoted, ask_quoted = action_to_quotes(self.view, actions)
        trade = action_to_hedge(self.view, actions) if self.market.n_hedges else None
        return np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf), trade


def _scaling(view: Interface) -> tuple:
    """What a policy's observations and actions are relative to: its interface, the step grid, the volatility
    levels and the hedges' trade sizes."""
    market = view.market
    return (
        repr(view.document()),
        market.n_steps,
        market.dt,
        tuple(market.regimes.scales),
        tuple(market.column("sigma")),
        tuple(view.hedge_unit),
        tuple(market.hedge_column("max_trade")),
        tuple(market.hedge_column("lot")),
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


def _load(path: str | Path, device: str) -> tuple[Any, Path, Any, dict[str, Any] | None]:
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


def load_learned(path: str | Path, world: Any, device: str = "cpu") -> LearnedPolicy:
    """Load a trained model (run folder or model file) as a policy for ``world`` (any market).

    A run folder's recorded training world (``world.json``) sets the policy's interface; a bare model
    file without one is taken to have been trained in ``world``. Raises ``ValueError`` for a missing,
    unreadable or corrupted model, or one whose observation layout differs from the world's.
    """
    model, _, training_world, normalization = _load(path, device)
    return LearnedPolicy(model, world, normalization, training_world)
