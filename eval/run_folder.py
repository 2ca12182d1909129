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
from envs.interface import Interface, derived_interface, interface_of
from envs.market import Market

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


# The observation and action layout a market's record was trained with: 2 is the one table of every market
# (``envs.observation``, ``envs.spaces``); records without one (``kind: dealer``, or ``kind: market`` with derived
# ``scales``) were trained on the multi-asset layout before it and are refused.
MARKET_LAYOUT = 2


def world_document(world: World | Market, preset: str | None = None) -> dict[str, Any]:
    """The record of a training world: every field resolved (derived scales written in), the preset it
    came from, and the code version. A market's record has ``kind: market``, its fields as plain data
    (``Market.document``), the ``layout`` its observations and actions follow and its ``interface``
    (``envs.interface.Interface.document``)."""
    if not isinstance(world, World):  # a Market, or an Interface to one
        document = {
            "kind": "market",
            "layout": MARKET_LAYOUT,
            "preset": preset,
            "fields": interface_of(world).market.document(),
            "interface": interface_of(world).document(),
        }
        return {**document, "code_version": code_version()}
    fields = dataclasses.asdict(world.resolved())
    return {"preset": preset, "fields": fields, "code_version": code_version()}


def load_world(path: Path) -> World | Market:
    """The training world recorded in ``world.json`` (``ValueError`` naming the file if unreadable, or, for
    a market, if it was trained on another layout or this code derives another interface from it)."""
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


def _market(document: dict[str, Any], path: Path) -> Market | Interface:
    """A recorded market, checked against the layout and interface it was trained with; where it was trained
    observing features of its own choosing (a config's ``world.features``), the interface to it observing them."""
    version = document.get("code_version", "unknown")
    checkout = f"evaluate or resume it with the code version recorded there ({version}: git checkout that commit)"
    layout = document.get("layout", 1)
    if layout != MARKET_LAYOUT:
        raise ValueError(
            f"the market in {path} was trained with observation layout {layout} (its inventories, hedges and the time "
            f"as a share of the session; bids before asks), this code observes layout {MARKET_LAYOUT} (the one table "
            f"of every market, envs.observation); {checkout}"
        )
    market = Market.from_document(document["fields"])
    recorded = document["interface"]
    chosen = derived_interface(market, features=tuple(recorded.get("features", ())))
    if not _same_interface(recorded, chosen.document()):
        raise ValueError(
            f"this code derives another interface for the market in {path} than the run was trained with "
            f"({chosen.document()} vs {recorded}); {checkout}"
        )
    return market if chosen == interface_of(market) else chosen


def _same_interface(recorded: dict[str, Any], derived: dict[str, Any]) -> bool:
    """Equal features, and numbers equal to within 1e-12 (a few ulps: CPUs differ in the last bits)."""
    if recorded.get("features") != derived["features"] or set(recorded) != set(derived):
        return False
    numbers = [name for name in derived if name != "features"]
    return all(
        np.shape(recorded[name]) == np.shape(derived[name])
        and np.allclose(recorded[name], derived[name], rtol=1e-12, atol=0.0)
        for name in numbers
    )
