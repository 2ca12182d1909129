"""Checkpoints: model (with optimizer state), normalization statistics and progress, written atomically.

A checkpoint is a folder ``checkpoints/step_<N>`` built under a temporary name and renamed into place,
so a run killed mid-write leaves the previous checkpoint intact and never a partial one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from eval.files import atomic_write_json
from eval.learned import CHECKPOINT_DIR, MODEL_FILE, NORMALIZATION_FILE, normalization_stats

STATE_FILE = "state.json"
KEEP = 3


def save_checkpoint(run_dir: Path, model: Any, vec_normalize: Any, state: dict[str, Any]) -> Path:
    """Write ``checkpoints/step_<num_timesteps>`` atomically; keep the newest ``KEEP`` checkpoints."""
    folder = run_dir / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"step_{model.num_timesteps:012d}"
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
    try:
        model.save(staging / MODEL_FILE)
        atomic_write_json(staging / NORMALIZATION_FILE, normalization_stats(vec_normalize))
        atomic_write_json(staging / STATE_FILE, {"num_timesteps": int(model.num_timesteps), **state})
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for old in list_checkpoints(run_dir)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    folder = run_dir / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step_*") if (p / MODEL_FILE).is_file() and (p / STATE_FILE).is_file())


def latest_checkpoint(run_dir: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The newest checkpoint with its state and normalization statistics; ``ValueError`` if none is usable."""
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise ValueError(f"no checkpoint to resume from in {run_dir / CHECKPOINT_DIR}")
    latest = checkpoints[-1]
    try:
        state = json.loads((latest / STATE_FILE).read_text())
        normalization = json.loads((latest / NORMALIZATION_FILE).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"checkpoint {latest} is corrupted: {error}") from None
    return latest, state, normalization


def restore_normalization(vec_normalize: Any, stats: dict[str, Any]) -> None:
    """Put saved statistics back into an SB3 ``VecNormalize``."""
    import numpy as np

    if stats["normalize_observation"]:
        vec_normalize.obs_rms.mean = np.asarray(stats["obs_mean"], dtype=np.float64)
        vec_normalize.obs_rms.var = np.asarray(stats["obs_var"], dtype=np.float64)
        vec_normalize.obs_rms.count = stats["obs_count"]
    vec_normalize.ret_rms.mean = np.float64(stats["return_mean"])
    vec_normalize.ret_rms.var = np.float64(stats["return_var"])
    vec_normalize.ret_rms.count = stats["return_count"]
