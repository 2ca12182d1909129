"""The comparison that researchers open TensorBoard for: the learned policy and every configured baseline
evaluated on the same seeds, logged under the same tags in sibling runs, with a quotes figure."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Figure
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from baselines import calibrate_linear_skew, make_policy
from envs import World
from eval import plots
from eval.evaluate import evaluate_policies
from eval.files import atomic_write_json
from eval.learned import LearnedPolicy, normalization_stats
from eval.specs import PolicySpec, parse_spec
from eval.tensorboard_output import SCALAR_PREFIX, custom_scalars_layout, log_metrics, run_name, scalar_metrics
from train.checkpoints import save_checkpoint
from train.config import CALIBRATED_LINEAR_SKEW, Config

LEARNED = "learned"
TB_DIR = "tb"
EVALUATIONS_FILE = "evaluations.json"


def resolve_baselines(world: World, entries: tuple[str, ...], seed: int) -> dict[str, tuple[PolicySpec, Any]]:
    """Baselines by label: specs as configured, ``linear_skew_calibrated`` tuned by the coarse backtest,
    and ``optimal`` skipped with a warning where the world does not allow it."""
    resolved = {}
    for entry in entries:
        if entry == CALIBRATED_LINEAR_SKEW:
            params = calibrate_linear_skew(world, seed=seed)
            spec = PolicySpec(text=entry, name="linear_skew", params=params)
        else:
            spec = parse_spec(entry)
        try:
            resolved[spec.text] = (spec, make_policy(spec.name, world, **spec.params))
        except ValueError as error:
            warnings.warn(f"baseline {entry!r} skipped: {error}", stacklevel=2)
    return resolved


def learned_view(model: Any, world: World, vec_normalize: Any) -> LearnedPolicy:
    """The model being trained, seen as a policy on raw observations."""
    return LearnedPolicy(model, world, normalization_stats(vec_normalize))


class ComparisonCallback(BaseCallback):
    """Every ``evaluation.frequency`` steps: evaluate learned + baselines, log them side by side, update the
    progress bar; every ``checkpoint_frequency`` steps: save a checkpoint."""

    def __init__(
        self,
        config: Config,
        world: World,
        run_dir: Path,
        vec_normalize: Any,
        baselines: dict[str, tuple[PolicySpec, Any]],
        history: list[dict[str, Any]],
    ) -> None:
        super().__init__()
        self.config = config
        self.world = world
        self.run_dir = run_dir
        self.vec_normalize = vec_normalize
        self.baselines = baselines
        self.history = history
        self.latest: dict[str, Any] = history[-1]["policies"][LEARNED] if history else {}
        self.writers: dict[str, SummaryWriter] = {}
        self.bar: tqdm | None = None

    def _on_training_start(self) -> None:
        tb = self.run_dir / TB_DIR
        for label in self.baselines:
            self.writers[label] = SummaryWriter(log_dir=str(tb / run_name(label)))
        with SummaryWriter(log_dir=str(tb / LEARNED)) as layout:
            layout.add_custom_scalars(custom_scalars_layout())
        self.next_evaluation = self._next(self.config.evaluation.frequency)
        self.next_checkpoint = self._next(self.config.checkpoint_frequency)
        self.bar = tqdm(
            total=self.config.total_timesteps,
            initial=self.num_timesteps,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            desc=self.config.experiment,
        )
        self._show()

    def _next(self, frequency: int) -> int:
        return (self.num_timesteps // frequency + 1) * frequency

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        if self.num_timesteps >= self.next_evaluation:
            self.evaluate()
            self.next_evaluation = self._next(self.config.evaluation.frequency)
        if self.num_timesteps >= self.next_checkpoint:
            self.checkpoint()
            self.next_checkpoint = self._next(self.config.checkpoint_frequency)
        return True

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
        for writer in self.writers.values():
            writer.close()

    def checkpoint(self) -> Path:
        return save_checkpoint(self.run_dir, self.model, self.vec_normalize, {"history": self.history})

    def evaluate(self) -> dict[str, Any]:
        """One paired evaluation at the current step, logged to TensorBoard and ``evaluations.json``."""
        evaluation = self.config.evaluation
        learned = learned_view(self.model, self.world, self.vec_normalize)
        policies = {LEARNED: (PolicySpec(LEARNED, "run", {}, str(self.run_dir)), learned), **self.baselines}
        results = evaluate_policies(self.world, policies, evaluation.episodes, evaluation.seed)
        step = self.num_timesteps
        for key, value in scalar_metrics(results[LEARNED].metrics).items():
            self.logger.record(f"{SCALAR_PREFIX}/{key}", value)
        compared = plots.compared_policies(self.world, policies)
        self.logger.record(
            f"{SCALAR_PREFIX}/quotes",
            Figure(plots.quotes_figure(self.world, compared), close=True),
            exclude=("stdout", "log", "json", "csv"),
        )
        self.logger.dump(step)
        for label, writer in self.writers.items():
            log_metrics(writer, results[label].metrics, step)
            writer.flush()
        self.latest = results[LEARNED].metrics
        self.history.append({"step": step, "policies": {k: scalar_metrics(r.metrics) for k, r in results.items()}})
        atomic_write_json(self.run_dir / EVALUATIONS_FILE, self.history)
        self._show()
        return results

    def _show(self) -> None:
        if self.bar is None or not self.latest:
            return
        postfix = {"reward": f"{self.latest['reward_mean']:.2f}"}
        if "optimality_score" in self.latest:
            postfix["score"] = f"{self.latest['optimality_score']:.3f}"
        self.bar.set_postfix(postfix)
