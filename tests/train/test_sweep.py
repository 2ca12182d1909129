import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from train.seeds import parse_seeds
from train.sweep import statistics
from train.sweep.spec import configurations, expand, spec_from_dict

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY_BASE = {
    "experiment": "tiny",
    "total_timesteps": 1024,
    "checkpoint_frequency": 512,
    "world": {"preset": "default", "overrides": {"horizon": 0.16}},
    "env": {"num_envs": 8},
    "algorithm": {"name": "PPO", "policy_kwargs": {"net_arch": [16, 16]}},
    "evaluation": {"frequency": 512, "episodes": 16, "baselines": ["symmetric", "avellaneda_stoikov", "optimal"]},
}


# --- statistics, against hand-computed values -------------------------------------------------------


def test_iqm_is_the_mean_of_the_middle_half():
    assert statistics.iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert statistics.iqm(np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(0.5)
    assert statistics.iqm(np.array([-100.0, 1.0, 2.0, 100.0])) == pytest.approx(1.5)  # outliers trimmed


def test_probability_of_improvement_by_hand():
    x, y = {"w": np.array([1.0, 3.0])}, {"w": np.array([2.0, 2.0])}
    assert statistics.probability_of_improvement(x, y) == pytest.approx(0.5)  # 2 of 4 pairs
    assert statistics.probability_of_improvement({"w": np.array([2.0])}, {"w": np.array([2.0])}) == 0.5  # a tie
    two = {"a": np.array([1.0]), "b": np.array([0.0])}
    other = {"a": np.array([0.0]), "b": np.array([0.0, 1.0])}
    assert statistics.probability_of_improvement(two, other) == pytest.approx((1.0 + 0.25) / 2)


def test_performance_profile_counts_runs_above_each_threshold():
    scores = {"a": np.array([0.1, 0.9]), "b": np.array([0.5])}
    np.testing.assert_allclose(statistics.performance_profile(scores, np.array([0.0, 0.5, 0.95])), [1, 1 / 3, 0])


def test_the_bootstrap_resamples_within_each_world():
    # Stratified: every resample keeps one world of zeros and one of ones, so the mean never moves.
    stratified = {"a": np.zeros(2), "b": np.ones(2)}
    assert statistics.stratified_bootstrap_ci(stratified, np.mean) == (0.5, 0.5)
    low, high = statistics.stratified_bootstrap_ci({"a": np.array([0.0, 1.0])}, np.mean)
    assert (low, high) == (0.0, 1.0)  # resampled means 0, 0.5, 1 with weights 1/4, 1/2, 1/4
    summary = statistics.summarize({"a": np.array([0.2, 0.4, 0.6, 0.8])})
    assert summary["n"] == 4 and summary["mean"] == pytest.approx(0.5) and summary["iqm"] == pytest.approx(0.5)
    assert summary["iqm_ci95"][0] <= 0.5 <= summary["iqm_ci95"][1]
    assert summary == statistics.summarize({"a": np.array([0.2, 0.4, 0.6, 0.8])})  # fixed bootstrap seed


# --- seeds and expansion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seeds"),
    [("0-3", [0, 1, 2, 3]), ("0,2,5", [0, 2, 5]), ("0-2,10", [0, 1, 2, 10]), ("7", [7]), ([1, 4], [1, 4])],
)
def test_seed_specs(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    ("text", "message"), [("3-1", "ends before"), ("a", "not a seed"), ("1,1", "twice"), ("", "not a seed")]
)
def test_bad_seed_specs(text, message):
    with pytest.raises(ValueError, match=message):
        parse_seeds(text)


def spec(**changes):
    data = {
        "name": "t",
        "seeds": "0-2",
        "grid": {"algorithm.hyperparameters.n_epochs": [1, 2]},
        "sample": {
            "algorithm.hyperparameters.learning_rate": {"loguniform": [1e-4, 1e-3]},
            "env.num_envs": {"choice": [8, 16]},
        },
        "samples": 3,
        "searcher": "random",
        "searcher_seed": 5,
        **changes,
    }
    return spec_from_dict(data, ROOT)


def test_expansion_is_deterministic_and_each_pair_runs_once(tmp_path):
    first, again, other = spec(), spec(), spec(searcher_seed=6)
    assert configurations(first) == configurations(again) != configurations(other)
    runs = expand(first, tmp_path)
    assert len(runs) == 2 * 3 * 3 and len({(r.config_id, r.seed) for r in runs}) == len(runs)
    by_config = {}
    for run in runs:  # frozen before crossing: every seed of a configuration has the same hyperparameters
        by_config.setdefault(run.config_id, []).append(run)
    for config_runs in by_config.values():
        assert [r.seed for r in config_runs] == [0, 1, 2]
        assert all(r.overrides == config_runs[0].overrides for r in config_runs)
    assert len({json.dumps(r.overrides, sort_keys=True) for r in runs}) == 6
    assert all(Path(r.run_dir).is_absolute() for r in runs)
    learning_rates = [r.overrides["algorithm.hyperparameters.learning_rate"] for r in runs]
    assert all(1e-4 <= lr <= 1e-3 for lr in learning_rates)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"searcher": "bayes"}, "searcher must be one of"),
        ({"grid": {"algorithm.hyperparameters.n_epoch": [1]}}, "algorithm.hyperparameters.n_epoch"),
        ({"sample": {"env.num_envs": {"uniform": [4, 2]}}}, "low < high"),
        ({"sample": {"algorithm.hyperparameters.learning_rate": {"loguniform": [0, 1]}}}, "low > 0"),
        ({"sample": {"env.num_envs": {"normal": [0, 1]}}}, "sample.env.num_envs must be one of"),
        ({"grid": {"total_timesteps": [0]}}, "total_timesteps must be ≥ 1"),
        ({"objective": {"metric": "profit"}}, "objective.metric must be one of"),
        ({"seeds": "2-1"}, "ends before"),
        ({"resources": {"gpus": 1}}, "resources: unknown key gpus"),
        ({"base": "missing.yaml"}, "no config file"),
        ({"overrides": {"sigma": -1}}, "sigma"),
        ({"searcher": "grid"}, "grid takes no sample axes"),
        ({"colour": "red"}, "unknown key colour"),
    ],
)
def test_every_key_and_bound_is_checked_before_anything_runs(changes, message):
    with pytest.raises(ValueError, match=message):
        spec(**changes)


# --- aggregation from hand-written run folders ---------------------------------------------------------


def write_done_run(run_dir: Path, score: float, preset: str = "default") -> None:
    (run_dir / "report").mkdir(parents=True)
    learned = {"optimality_score": score, "reward_mean": 10 * score}
    policies = {"learned": learned, "avellaneda_stoikov": {"optimality_score": 0.8}}
    (run_dir / "report" / "metrics.json").write_text(json.dumps({"label": preset, "policies": policies}))
    (run_dir / "training.json").write_text(json.dumps({"num_timesteps": 10, "wall_seconds": 1.0}))
    (run_dir / "world.json").write_text(json.dumps({"preset": preset, "fields": {"sigma": 2.0}}))
    history = [{"step": 5, "policies": {"learned": {"optimality_score": score / 2}}}]
    (run_dir / "evaluations.json").write_text(json.dumps([*history, {"step": 10, "policies": {"learned": learned}}]))


def test_aggregation_counts_failed_and_missing_runs(tmp_path, capsys):
    from train.sweep.aggregate import write_report
    from train.sweep.cli import main, print_status

    runs = []
    for config_id, axes in (("c000", {"lr": 0.1}), ("c001", {"lr": 0.2})):
        for seed in (0, 1):
            run_dir = tmp_path / "runs" / f"{config_id}-seed{seed}"
            runs.append({"config_id": config_id, "seed": seed, "axes": axes, "run_dir": str(run_dir)})
    sweep = {
        "name": "hand",
        "searcher": "grid",
        "seeds": [0, 1],
        "samples": 1,
        "objective": {"metric": "optimality_score", "aggregate": "iqm", "mode": "max"},
        "runs": runs,
    }
    (tmp_path / "sweep.json").write_text(json.dumps(sweep))
    write_done_run(tmp_path / "runs" / "c000-seed0", 0.9)
    write_done_run(tmp_path / "runs" / "c000-seed1", 0.7)
    write_done_run(tmp_path / "runs" / "c001-seed0", 0.95)
    (tmp_path / "runs" / "c001-seed1.failures.json").write_text(
        json.dumps(["RuntimeError: boom", "RuntimeError: boom"])
    )
    summary = write_report(tmp_path)
    assert summary["runs"] == {"done": 3, "failed": 1, "planned": 4}
    first, second = summary["configurations"]["c000"], summary["configurations"]["c001"]
    assert (first["done"], first["planned"], second["done"], second["failed"][0]["seed"]) == (2, 2, 1, 1)
    assert first["mean"] == pytest.approx(0.8) and first["per_seed"] == {"0": 0.9, "1": 0.7}
    assert summary["ranking"] == ["c001", "c000"]
    assert first["probability_of_improvement"]["vs best (c001)"] == 0.0  # neither 0.9 nor 0.7 beats 0.95
    assert first["probability_of_improvement"]["vs avellaneda_stoikov"] == pytest.approx(0.5)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "failed twice, listed, not dropped" in report and "RuntimeError: boom" in report
    assert (tmp_path / "report" / "results.csv").read_text().count("\n") == 5
    print_status(tmp_path)
    out = capsys.readouterr().out
    assert "3 done" in out and "1 failed" in out
    (tmp_path / "runs" / "c001-seed1.failures.json").unlink()
    assert main(["status", str(tmp_path)]) == 0
    assert "1 pending" in capsys.readouterr().out
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = EventAccumulator(str(tmp_path / "tb-hparams")).Reload()
    assert "_hparams_/experiment" in root.PluginTagToContent("hparams")


# --- end to end on Ray ------------------------------------------------------------------------------------


def write_sweep(folder: Path, subfolder: str | None = None, **changes) -> Path:
    """The tiny base config in ``folder``, and a spec beside it (or in ``folder/subfolder``, naming its base
    relative to itself, as ``configs/sweeps/*.yaml`` do)."""
    (folder / "tiny.yaml").write_text(yaml.safe_dump(TINY_BASE))
    data = {
        "name": "e2e",
        "base": "../tiny.yaml" if subfolder else "tiny.yaml",
        "seeds": "0-1",
        "grid": {"algorithm.hyperparameters.n_epochs": [1, 2]},
        "searcher": "grid",
        **changes,
    }
    path = folder / subfolder / "sweep.yaml" if subfolder else folder / "sweep.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def sweep_cli(*args, cwd, timeout=600, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run(
        [sys.executable, "-m", "train.sweep", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_a_sweep_end_to_end_from_another_working_directory(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spec_path = write_sweep(tmp_path)
    done = sweep_cli("run", "--spec", str(spec_path), "--dir", "out", "--num-cpus", "2", cwd=elsewhere)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sweep_dir = elsewhere / "out"
    runs = sorted(p.name for p in (sweep_dir / "runs").iterdir() if p.is_dir())
    assert len(runs) == 4 and all((sweep_dir / "runs" / r / "report" / "metrics.json").is_file() for r in runs)
    for name in ("report.md", "summary.json", "results.csv", "intervals.png", "learning_curves.png"):
        assert (sweep_dir / "report" / name).is_file(), name
    summary = json.loads((sweep_dir / "report" / "summary.json").read_text())
    assert summary["runs"] == {"done": 4, "failed": 0, "planned": 4}
    # Every run folder is an ordinary one: eval reads it.
    from eval.cli import main as eval_main

    out = tmp_path / "ev"
    run = sweep_dir / "runs" / runs[0]
    assert eval_main(["--set", "horizon=0.16", "--policy", f"run:{run}", "--episodes", "8", "--out", str(out)]) == 0
    # The same command again resumes: nothing is retrained.
    stamps = {r: (sweep_dir / "runs" / r / "training.json").stat().st_mtime_ns for r in runs}
    again = sweep_cli("run", "--spec", str(spec_path), "--dir", "out", "--num-cpus", "2", cwd=elsewhere)
    assert again.returncode == 0 and "resuming" in again.stdout
    assert stamps == {r: (sweep_dir / "runs" / r / "training.json").stat().st_mtime_ns for r in runs}
    # A changed spec is refused.
    write_sweep(tmp_path, seeds="0-2")
    changed = sweep_cli("run", "--spec", str(spec_path), "--dir", "out", cwd=elsewhere)
    assert changed.returncode == 2 and "different spec" in changed.stderr and "Traceback" not in changed.stderr


def test_sigint_stops_the_sweep_and_resume_finishes_it(tmp_path):
    spec_path = write_sweep(
        tmp_path,
        subfolder="specs",
        grid={"total_timesteps": [1024, 40000]},
        overrides={"evaluation.frequency": 8192, "checkpoint_frequency": 2048},
        seeds="0",
    )
    sweep_dir = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    command = [sys.executable, "-m", "train.sweep", "run", "--spec", str(spec_path), "--dir", str(sweep_dir)]
    process = subprocess.Popen(  # output to files: a full pipe would stall the sweep while we wait
        command,
        cwd=tmp_path,
        stdout=(tmp_path / "out.log").open("w"),
        stderr=(tmp_path / "err.log").open("w"),
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # see test_train_cli.start_long_run
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list((sweep_dir / "runs").glob("*/training.json")):
        time.sleep(0.5)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=300)
    stdout, stderr = (tmp_path / "out.log").read_text(), (tmp_path / "err.log").read_text()
    assert process.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert f"resume with: python -m train.sweep run --resume {sweep_dir}" in stdout
    finished = [p.parent for p in (sweep_dir / "runs").glob("*/training.json")]
    assert len(finished) == 1
    stamp = (finished[0] / "training.json").stat().st_mtime_ns
    done = sweep_cli("run", "--resume", str(sweep_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (finished[0] / "training.json").stat().st_mtime_ns == stamp  # the finished run was not retrained
    assert json.loads((sweep_dir / "report" / "summary.json").read_text())["runs"]["done"] == 2


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not unshare_works(), reason="needs network namespaces (unshare --net), e.g. root in CI")
def test_a_sweep_on_a_ray_cluster_started_by_hand_on_loopback(tmp_path):
    """A real second process tree (`ray start --head`), in a namespace with only loopback, so Ray binds
    nothing outside; its own PID namespace makes `ray stop` stop only what this test started."""
    spec_path = write_sweep(tmp_path, seeds="0", grid={"algorithm.hyperparameters.n_epochs": [1, 2]})
    script = f"""
set -e
ip link set lo up
{BIN}/ray start --head --node-ip-address=127.0.0.1 --port=6391 --num-cpus=2 --include-dashboard=false \
    --disable-usage-stats > {tmp_path}/ray_start.log 2>&1
set +e
{sys.executable} -m train.sweep run --spec {spec_path} --dir {tmp_path}/out --address 127.0.0.1:6391
code=$?
{BIN}/ray stop --force > /dev/null 2>&1
exit $code
"""
    # The cluster's own auth token, given to the head and to the client alike (as a cluster's nodes share it).
    token = os.urandom(16).hex()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        ["unshare", "--net", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + (tmp_path / "ray_start.log").read_text()
    assert "Ray cluster at 127.0.0.1:6391" in done.stdout
    summary = json.loads((tmp_path / "out" / "report" / "summary.json").read_text())
    assert summary["runs"] == {"done": 2, "failed": 0, "planned": 2}
    shutil.rmtree(tmp_path / "out")


def test_an_optuna_sweep_suggests_configurations_from_results(tmp_path):
    spec_path = write_sweep(
        tmp_path,
        grid={},
        seeds="0",
        searcher="optuna",
        samples=2,
        sample={"algorithm.hyperparameters.learning_rate": {"loguniform": [1e-4, 1e-3]}},
    )
    done = sweep_cli("run", "--spec", str(spec_path), "--dir", str(tmp_path / "out"), "--num-cpus", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "report" / "summary.json").read_text())
    assert summary["runs"] == {"done": 2, "failed": 0, "planned": 2}
    rates = [c["axes"]["algorithm.hyperparameters.learning_rate"] for c in summary["configurations"].values()]
    assert len(set(rates)) == 2 and all(1e-4 <= rate <= 1e-3 for rate in rates)


def test_without_ray_run_says_how_to_install_it_and_status_still_works(tmp_path, monkeypatch, capsys):
    from train.sweep.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    spec_path = write_sweep(tmp_path)
    assert main(["run", "--spec", str(spec_path), "--dir", str(tmp_path / "out")]) == 2
    assert 'pip install -e ".[sweep]"' in capsys.readouterr().err
    assert main(["status", str(tmp_path / "out")]) == 0
    assert "4 pending" in capsys.readouterr().out


def test_a_failing_run_is_retried_once_then_listed_as_failed(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("the failure here is asking for CUDA on a machine without it")
    spec_path = write_sweep(tmp_path, grid={}, seeds="0", overrides={"device": "cuda"})
    done = sweep_cli("run", "--spec", str(spec_path), "--dir", str(tmp_path / "out"), "--num-cpus", "2", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    failures = json.loads(next((tmp_path / "out" / "runs").glob("*.failures.json")).read_text())
    assert len(failures) == 2 and "CUDA" in failures[0]  # the first try and Tune's one retry
    summary = json.loads((tmp_path / "out" / "report" / "summary.json").read_text())
    assert summary["runs"] == {"done": 0, "failed": 1, "planned": 1}
    assert "failed twice, listed, not dropped" in (tmp_path / "out" / "report" / "report.md").read_text()


def test_train_seeds_runs_ordinary_run_folders_and_ends_with_a_table(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY_BASE))
    parent = tmp_path / "seeds"
    command = [sys.executable, "-m", "train", "--config", "tiny.yaml", "--seeds", "0-1", "--run-dir", str(parent)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = sorted(p for p in (parent / "runs").iterdir() if p.is_dir())
    assert [p.name.split("-seed")[1] for p in runs] == ["0", "1"]
    for run in runs:  # ordinary run folders, each with its own seed
        assert yaml.safe_load((run / "config.yaml").read_text())["seed"] == int(run.name.split("-seed")[1])
        assert (run / "final" / "model.zip").is_file() and (run / "tb").is_dir()
    assert "IQM" in done.stdout and "2/2" in done.stdout  # the seed-aggregated table
