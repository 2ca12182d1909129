"""Checkpoints: model (with optimizer state), normalization statistics and progress, written whole or not at all.

A checkpoint is a folder ``checkpoints/step_<N>`` built under a temporary name and renamed into place, so
a run killed mid-write (even by ``kill -9``) leaves the previous checkpoints intact and never a partial
one; a write that fails (a full disk, an unwritable folder) removes its staging folder and raises. A Ctrl-C
(SIGINT) during a write waits for the write to finish, then interrupts as usual.
Resuming takes the newest checkpoint that loads, warning about each newer one that does not.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from eval.files import atomic_write_json
from eval.learned import normalization_stats
from eval.run_folder import CHECKPOINT_PREFIX, MODEL_FILE, NORMALIZATION_FILE, STATE_FILE, RunFolder

KEEP = 3
STAGING_PREFIX = ".staging-"


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold a SIGINT that arrives inside the block and raise it as ``KeyboardInterrupt`` when the block ends.

    An interrupt in the middle of torch's zip writer turns into a ``RuntimeError`` from the writer, which
    would read as a crash. Outside the main thread (signals go to the main thread only) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def save_checkpoint(run_dir: Path, model: Any, vec_normalize: Any, state: dict[str, Any]) -> Path:
    """Write ``checkpoints/step_<num_timesteps>`` whole; keep the newest ``KEEP`` checkpoints.

    ``OSError`` if it cannot be written; the checkpoints already there are left as they were. A SIGINT
    during the write is held until the checkpoint is in place (``sigint_deferred``).
    """
    with sigint_deferred():
        return _write_checkpoint(run_dir, model, vec_normalize, state)


def _write_checkpoint(run_dir: Path, model: Any, vec_normalize: Any, state: dict[str, Any]) -> Path:
    run = RunFolder(run_dir)
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    target = run.checkpoint(model.num_timesteps)
    staging = Path(tempfile.mkdtemp(dir=run.checkpoints, prefix=STAGING_PREFIX))
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
    """Checkpoint folders with their files present, oldest first (staging folders never count)."""
    folder = RunFolder(run_dir).checkpoints
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if (p / MODEL_FILE).is_file() and (p / STATE_FILE).is_file()
    )


def remove_staging(run_dir: Path) -> None:
    """Remove staging folders a killed run left behind."""
    folder = RunFolder(run_dir).checkpoints
    for staging in folder.glob(f"{STAGING_PREFIX}*") if folder.is_dir() else []:
        shutil.rmtree(staging, ignore_errors=True)


def load_latest(run_dir: Path, load_model: Callable[[Path], Any]) -> tuple[Path, Any, dict[str, Any], dict[str, Any]]:
    """The newest checkpoint that loads: ``(folder, model, state, normalization)``.

    A newer checkpoint that is truncated or corrupted is passed over with a warning naming the bad file.
    ``ValueError`` if none loads.
    """
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise ValueError(f"no checkpoint to resume from in {RunFolder(run_dir).checkpoints}")
    for checkpoint in reversed(checkpoints):
        try:
            state = _read_json(checkpoint / STATE_FILE)
            normalization = _read_json(checkpoint / NORMALIZATION_FILE)
            try:
                model = load_model(checkpoint / MODEL_FILE)
            except Exception as error:  # SB3 raises many kinds for a truncated or foreign zip
                raise ValueError(f"{checkpoint / MODEL_FILE}: {type(error).__name__}: {error}") from None
        except ValueError as error:
            warnings.warn(f"checkpoint {checkpoint.name} is corrupted, skipped: {error}", stacklevel=2)
            continue
        return checkpoint, model, state, normalization
    raise ValueError(f"every checkpoint in {RunFolder(run_dir).checkpoints} is corrupted; nothing to resume from")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def restore_normalization(vec_normalize: Any, stats: dict[str, Any]) -> None:
    """Put saved statistics back into an SB3 ``VecNormalize``."""
    if stats["normalize_observation"]:
        vec_normalize.obs_rms.mean = np.asarray(stats["obs_mean"], dtype=np.float64)
        vec_normalize.obs_rms.var = np.asarray(stats["obs_var"], dtype=np.float64)
        vec_normalize.obs_rms.count = stats["obs_count"]
    vec_normalize.ret_rms.mean = np.float64(stats["return_mean"])
    vec_normalize.ret_rms.var = np.float64(stats["return_var"])
    vec_normalize.ret_rms.count = stats["return_count"]
