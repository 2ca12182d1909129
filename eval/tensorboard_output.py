"""TensorBoard output: one sibling run per policy with the same tags, so policies overlay on one chart.

Written with TensorBoard's ``SummaryWriter`` (through ``torch.utils.tensorboard``) and read back in
tests with TensorBoard's ``EventAccumulator``.
"""

from __future__ import annotations

import re
from typing import Any

from torch.utils.tensorboard import SummaryWriter

from envs import interface_of
from eval.metrics import METRICS, metric_names

SCALAR_PREFIX = "eval"
# Metrics that make the "learned vs baselines" custom-scalars tab, in order.
LAYOUT_METRICS = (
    "reward_mean",
    "optimality_score",
    "pnl_mean",
    "pnl_std",
    "mean_abs_inventory",
    "final_inventory_std",
    "time_at_limit",
    "spread_mean",
)


def layout_metrics(world: Any) -> tuple[str, ...]:
    """``LAYOUT_METRICS`` as ``world`` names them: each per-asset metric once per asset in a market of several
    (``eval.metrics.metric_names``)."""
    assets = interface_of(world).market.n_assets
    return tuple(
        entry
        for name in LAYOUT_METRICS
        for entry in (metric_names(name, assets) if METRICS[name].scope == "asset" else [name])
    )


def run_name(label: str) -> str:
    """A folder name for a policy's run: its spec with path separators and odd characters replaced."""
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", label).strip("_") or "policy"


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    }


def log_metrics(writer: SummaryWriter, metrics: dict[str, Any], step: int, prefix: str = SCALAR_PREFIX) -> None:
    """Every scalar metric under ``prefix/<name>`` at ``step``."""
    for key, value in scalar_metrics(metrics).items():
        writer.add_scalar(f"{prefix}/{key}", value, step)


def log_hparams(writer: SummaryWriter, params: dict[str, Any], metrics: dict[str, Any]) -> None:
    """An hparams entry (metrics under ``hparams/<name>``) in the writer's own run folder."""
    clean = {
        key: (value if isinstance(value, (int, float, str, bool)) else str(value)) for key, value in params.items()
    }
    metric_dict = {f"hparams/{key}": value for key, value in scalar_metrics(metrics).items()}
    if metric_dict:  # TensorBoard's hparams plugin needs at least one metric
        writer.add_hparams(clean, metric_dict, run_name=".")


def custom_scalars_layout(metrics: tuple[str, ...] = LAYOUT_METRICS, prefix: str = SCALAR_PREFIX) -> dict:
    """The "learned vs baselines" tab: one multiline chart per metric, every run's curve on it."""
    return {"learned vs baselines": {name: ["Multiline", [rf"^{prefix}/{name}$"]] for name in metrics}}
