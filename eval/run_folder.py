"""The layout of a training run's folder, in one place for ``train`` (which writes it) and ``eval`` (which reads it).

::

    <run>/config.yaml            the resolved experiment config (every key, derived values written in)
    <run>/world.json             the fully resolved training world and the code version that trained on it
    <run>/checkpoints/step_<N>/  model.zip, normalization.json, state.json (written whole, by rename)
    <run>/final/                 model.zip, normalization.json
    <run>/tb/<policy>/           TensorBoard: the learned policy and each baseline as sibling runs
    <run>/evaluations.json       every periodic evaluation
    <run>/training.json          steps and timing
    <run>/report/                the final paired evaluation (metrics.json, report.md, plots)
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from envs import World
from envs.interface import hedge_unit, inventory_unit, offset_range
from envs.market import Market
from envs.presets import mean_variance_market

CONFIG_FILE = "config.yaml"
WORLD_FILE = "world.json"
CHECKPOINT_DIR = "checkpoints"
FINAL_DIR = "final"
MODEL_FILE = "model.zip"
NORMALIZATION_FILE = "normalization.json"
STATE_FILE = "state.json"
TB_DIR = "tb"
EVALUATIONS_FILE = "evaluations.json"
TRAINING_FILE = "training.json"
REPORT_DIR = "report"
CHECKPOINT_PREFIX = "step_"


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """Paths inside one run folder."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def world(self) -> Path:
        return self.root / WORLD_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINT_DIR

    def checkpoint(self, num_timesteps: int) -> Path:
        return self.checkpoints / f"{CHECKPOINT_PREFIX}{num_timesteps:012d}"

    @property
    def final(self) -> Path:
        return self.root / FINAL_DIR

    @property
    def tensorboard(self) -> Path:
        return self.root / TB_DIR

    @property
    def evaluations(self) -> Path:
        return self.root / EVALUATIONS_FILE

    @property
    def training(self) -> Path:
        return self.root / TRAINING_FILE

    @property
    def report(self) -> Path:
        return self.root / REPORT_DIR


def code_version() -> str:
    """The package version and, in a git checkout, the commit (``+dirty`` with uncommitted changes)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("mm-inventory")
    except PackageNotFoundError:
        text = "unknown"
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{text}+{commit}" if commit else text


def world_document(world: World | Market, preset: str | None = None) -> dict[str, Any]:
    """The record of a training world: every field resolved (derived scales written in), the preset it
    came from, and the code version. A market's record has ``kind: market``, its fields as plain data
    (``Market.document``) and its derived ``scales``."""
    if isinstance(world, Market):
        scales = {
            "offset_range": offset_range(world).tolist(),
            "inventory_unit": inventory_unit(world).tolist(),
            "hedge_unit": hedge_unit(world).tolist(),
        }
        document = {"kind": "market", "preset": preset, "fields": world.document(), "scales": scales}
        return {**document, "code_version": code_version()}
    fields = dataclasses.asdict(world.resolved())
    return {"preset": preset, "fields": fields, "code_version": code_version()}


def load_world(path: Path) -> World | Market:
    """The training world recorded in ``world.json`` (``ValueError`` naming the file if unreadable, or, for
    a dealer, if this code derives other scales from it than those the run was trained with)."""
    try:
        document = json.loads(path.read_text())
        fields = document["fields"]
        if document.get("kind") in ("market", "dealer"):
            return _market(document, path)
        fields.setdefault("time_scale", fields["horizon"])  # recorded before time_scale: the session's fraction
        for key in ("regime_scales", "observation_features"):
            fields[key] = tuple(fields[key]) if fields[key] is not None else None
        fields["regime_switch_rates"] = tuple(tuple(row) for row in fields["regime_switch_rates"])
        if isinstance(fields["initial_inventory"], list):
            fields["initial_inventory"] = tuple(fields["initial_inventory"])
        return World(**fields)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"cannot read the training world {path}: {error}") from None


def _market(document: dict[str, Any], path: Path) -> Market:
    """A recorded market, checked against the scales it was trained with. A ``kind: dealer`` record (before the
    one market) is migrated: its ``risk_aversion`` γ becomes the penalty ``φ = γσ₁²/2``."""
    fields, scales = dict(document["fields"]), document["scales"]
    if document["kind"] == "dealer":
        market = mean_variance_market(fields.pop("risk_aversion"), **fields)
    else:
        market = Market.from_document(fields)
    recorded = (scales["offset_range"], scales["inventory_unit"], scales.get("hedge_unit", []))
    derived = (offset_range(market), inventory_unit(market), hedge_unit(market))
    same = all(
        np.shape(ours) == np.shape(theirs) and np.allclose(ours, theirs, rtol=1e-12, atol=0.0)
        for ours, theirs in zip(derived, recorded, strict=True)
    )
    if not same:
        raise ValueError(
            f"this code derives other scales for the market in {path} than the run was trained with "
            f"(offset ranges {offset_range(market).tolist()} vs {scales['offset_range']}); evaluate it with the code "
            f"version recorded there ({document.get('code_version', 'unknown')}: git checkout that commit)"
        )
    return market
