"""One sweep run as a trial: idempotent on its ordinary run folder, and its state read from that folder alone.

A finished run reports its stored result; a started one resumes from its own checkpoint; a new one
starts fresh. Completion is counted from the folders, never from Tune's result grid. A failure is
recorded beside the folder (``<run>.failures.json``) before the trial raises, so that Tune's one retry
resumes it and a second failure leaves the run listed as failed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eval.files import atomic_write_json
from eval.run_folder import RunFolder
from train.checkpoints import list_checkpoints
from train.sweep.spec import Run

DONE, STARTED, FAILED, PENDING = "done", "started", "failed", "pending"
MAX_ATTEMPTS = 2  # the first try and Tune's one retry
Reporter = Callable[[dict[str, Any]], None]


def failures_file(run_dir: Path) -> Path:
    return run_dir.with_name(run_dir.name + ".failures.json")


def failures(run_dir: Path) -> list[str]:
    path = failures_file(run_dir)
    try:
        return list(json.loads(path.read_text())) if path.is_file() else []
    except (OSError, json.JSONDecodeError):
        return ["(unreadable failure record)"]


def run_state(run_dir: Path) -> str:
    """``done`` (final report written), ``failed`` (failed twice), ``started`` (a checkpoint) or ``pending``."""
    run = RunFolder(run_dir)
    if (run.report / "metrics.json").is_file() and run.training.is_file():
        return DONE
    if len(failures(run_dir)) >= MAX_ATTEMPTS:
        return FAILED
    return STARTED if list_checkpoints(run_dir) else PENDING


def stored_result(run_dir: Path) -> dict[str, Any]:
    """The learned policy's final metrics and the run's timing, from its folder."""
    run = RunFolder(run_dir)
    document = json.loads((run.report / "metrics.json").read_text())
    timing = json.loads(run.training.read_text())
    learned = document["policies"]["learned"]
    baselines = {key: value for key, value in document["policies"].items() if key != "learned"}
    return {"metrics": learned, "baselines": baselines, "timing": timing, "world": document.get("label")}


def execute(run: Run, cpus: float, report: Reporter | None = None) -> dict[str, Any]:
    """Bring ``run`` to done (or raise), idempotently; returns ``stored_result``."""
    from train.trainer import train

    run_dir = Path(run.run_dir)
    state = run_state(run_dir)
    if state == DONE:
        return stored_result(run_dir)
    config = run.config((f"torch_threads={max(1, int(cpus))}",))
    resume = state in (STARTED, FAILED)
    if run_dir.exists() and not resume:
        shutil.rmtree(run_dir)  # started but killed before its first checkpoint: nothing to keep

    def on_evaluation(step: int, metrics: dict[str, Any]) -> None:
        if report is not None:
            report({"step": step, **{k: v for k, v in metrics.items() if isinstance(v, float)}})

    try:
        result = train(config, run_dir, resume=resume, on_evaluation=on_evaluation)
        if result.status != "done":
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        atomic_write_json(failures_file(run_dir), [*failures(run_dir), f"{type(error).__name__}: {error}"])
        raise
    return stored_result(run_dir)
