"""The comparison that researchers open TensorBoard for: the learned policy and every configured baseline
evaluated on the same seeds, logged under the same tags in sibling runs, with a quotes figure."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Figure
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from envs import Market, World
from eval.files import atomic_write_json
from eval.learned import LearnedPolicy, normalization_stats
from eval.run import Comparison, compare
from eval.run_folder import RunFolder
from eval.specs import PolicySpec
from eval.tensorboard_output import SCALAR_PREFIX, custom_scalars_layout, layout_metrics, log_metrics, run_name
from train.checkpoints import list_checkpoints, save_checkpoint
from train.config import Config

LEARNED = "learned"


def learned_view(model: Any, world: World | Market, vec_normalize: Any) -> LearnedPolicy:
    """The model being trained, seen as a policy of its world (on raw observations)."""
    return LearnedPolicy(model, world, normalization_stats(vec_normalize))


# Called after each periodic evaluation with the step and the learned policy's metrics.
EvaluationHook = Callable[[int, dict[str, Any]], None]


class NonFiniteTraining(RuntimeError):
    """Training produced a NaN or inf (reward, loss or parameter); the diagnosis names which and when."""


class FiniteGuard(BaseCallback):
    """Stops training at once when rewards, the losses or the policy's parameters go non-finite."""

    LOSSES = ("train/loss", "train/value_loss", "train/policy_gradient_loss", "train/entropy_loss")

    def _on_step(self) -> bool:
        rewards = self.locals.get("rewards")
        if rewards is not None and not np.all(np.isfinite(rewards)):
            raise NonFiniteTraining(f"non-finite reward at step {self.num_timesteps:,}")
        return True

    def _on_rollout_start(self) -> None:
        self.check_model()

    def _on_training_end(self) -> None:
        self.check_model()

    def check_model(self) -> None:
        """``NonFiniteTraining`` if the last update's losses or the parameters are not all finite."""
        for key in self.LOSSES:
            value = self.model.logger.name_to_value.get(key)
            if value is not None and not np.isfinite(value):
                raise NonFiniteTraining(f"non-finite {key} ({value}) in the update before step {self.num_timesteps:,}")
        for name, parameter in self.model.policy.named_parameters():
            if not parameter.detach().isfinite().all():
                raise NonFiniteTraining(
                    f"non-finite parameter {name} after the update before step {self.num_timesteps:,}"
                )


class ComparisonCallback(BaseCallback):
    """Every ``evaluation.frequency`` steps: evaluate learned + baselines, log them side by side, update the
    progress bar, call ``on_evaluation``; every ``checkpoint_frequency`` steps: save a checkpoint (a write
    that fails is reported and leaves the previous checkpoint intact; training goes on)."""

    def __init__(
        self,
        config: Config,
        world: World | Market,
        run_dir: Path,
        vec_normalize: Any,
        baselines: dict[str, tuple[PolicySpec, Any]],
        history: list[dict[str, Any]],
        on_evaluation: EvaluationHook | None = None,
    ) -> None:
        super().__init__()
        self.on_evaluation = on_evaluation
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
        tb = RunFolder(self.run_dir).tensorboard
        for label in self.baselines:
            self.writers[label] = SummaryWriter(log_dir=str(tb / run_name(label)))
        with SummaryWriter(log_dir=str(tb / LEARNED)) as layout:
            layout.add_custom_scalars(custom_scalars_layout(layout_metrics(self.world)))
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
            try:
                self.checkpoint()
            except OSError as error:
                kept = list_checkpoints(self.run_dir)
                previous = f"the previous one, {kept[-1]}, is intact" if kept else "there is no earlier one"
                warnings.warn(
                    f"checkpoint at step {self.num_timesteps:,} could not be written ({error}); {previous}",
                    stacklevel=2,
                )
            self.next_checkpoint = self._next(self.config.checkpoint_frequency)
        return True

    def _on_training_end(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the progress bar and the baselines' TensorBoard writers."""
        if self.bar is not None:
            self.bar.close()
        for writer in self.writers.values():
            writer.close()

    def checkpoint(self) -> Path:
        return save_checkpoint(self.run_dir, self.model, self.vec_normalize, {"history": self.history})

    def evaluate(self) -> Comparison:
        """One paired evaluation at the current step, logged to TensorBoard and ``evaluations.json``."""
        evaluation = self.config.evaluation
        learned = learned_view(self.model, self.world, self.vec_normalize)
        policies = {LEARNED: (PolicySpec(LEARNED, "run", {}, str(self.run_dir)), learned), **self.baselines}
        comparison = compare(self.world, policies, evaluation.episodes, evaluation.seed, evaluation.risk_aversion)
        step = self.num_timesteps
        for key, value in comparison.scalars[LEARNED].items():
            self.logger.record(f"{SCALAR_PREFIX}/{key}", value)
        self.logger.record(
            f"{SCALAR_PREFIX}/quotes", Figure(comparison.figure, close=True), exclude=("stdout", "log", "json", "csv")
        )
        self.logger.dump(step)
        for label, writer in self.writers.items():
            log_metrics(writer, comparison.scalars[label], step)
            writer.flush()
        self.latest = comparison.metrics[LEARNED]
        self.history.append({"step": step, "policies": comparison.scalars})
        atomic_write_json(RunFolder(self.run_dir).evaluations, self.history)
        self._show()
        if self.on_evaluation is not None:
            self.on_evaluation(step, comparison.scalars[LEARNED])
        return comparison

    def _show(self) -> None:
        if self.bar is None or not self.latest:
            return
        postfix = {"reward": f"{self.latest['reward_mean']:.2f}"}
        if "optimality_score" in self.latest:
            postfix["score"] = f"{self.latest['optimality_score']:.3f}"
        self.bar.set_postfix(postfix)
