import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from train.cli import main
from train.config import load_config, world_of
from train.trainer import build_env

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "experiment": "tiny",
    "seed": 3,
    "total_timesteps": 1024,
    "device": "cpu",
    "checkpoint_frequency": 512,
    "world": {"preset": "default", "overrides": {"horizon": 0.16}},  # 32 steps per session
    "env": {"num_envs": 8, "reward": "variance_reduced", "normalize_observation": True, "normalize_reward": True},
    "algorithm": {
        "name": "PPO",
        "hyperparameters": {"n_steps": 32, "batch_size": 64, "n_epochs": 2},
        "policy_kwargs": {"net_arch": [16, 16], "activation_fn": "tanh"},
    },
    "evaluation": {
        "frequency": 512,
        "episodes": 16,
        "seed": 99,
        "baselines": ["symmetric", "linear_skew_calibrated", "avellaneda_stoikov", "optimal"],
    },
}


def write_config(tmp_path, **changes):
    config = json.loads(json.dumps(TINY))
    for key, value in changes.items():
        config[key] = value
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_cli(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "train", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def scalar_steps(folder, tag):
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0}).Reload()
    assert tag in accumulator.Tags()["scalars"], (folder, accumulator.Tags()["scalars"])
    return [event.step for event in accumulator.Scalars(tag)]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("run")
    run_dir = tmp_path / "run"
    done = run_cli("--config", str(write_config(tmp_path)), "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir, done


def test_tiny_run_produces_the_run_folder(finished_run):
    run_dir, done = finished_run
    for name in (
        "config.yaml",
        "final/model.zip",
        "final/normalization.json",
        "evaluations.json",
        "training.json",
        "report/metrics.json",
        "report/report.md",
        "report/quotes.png",
    ):
        assert (run_dir / name).is_file(), name
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["experiment"] == "tiny"
    assert list((run_dir / "checkpoints").glob("step_*/model.zip"))
    assert f"tensorboard --logdir {run_dir / 'tb'}" in done.stdout
    metrics = json.loads((run_dir / "report" / "metrics.json").read_text())
    assert list(metrics["policies"]) == [
        "learned",
        "symmetric",
        "linear_skew_calibrated",
        "avellaneda_stoikov",
        "optimal",
    ]
    assert "optimality_score" in metrics["policies"]["learned"]


def test_tensorboard_has_learned_and_baseline_curves_under_the_same_tags(finished_run):
    run_dir, _ = finished_run
    tb = run_dir / "tb"
    assert {"learned", "symmetric", "linear_skew_calibrated", "avellaneda_stoikov", "optimal"} <= {
        p.name for p in tb.iterdir()
    }
    learned_steps = scalar_steps(tb / "learned", "eval/reward_mean")
    assert learned_steps == [512, 1024]
    for baseline in ("symmetric", "linear_skew_calibrated", "avellaneda_stoikov", "optimal"):
        assert scalar_steps(tb / baseline, "eval/reward_mean") == learned_steps
        assert scalar_steps(tb / baseline, "eval/optimality_score") == learned_steps
    accumulator = EventAccumulator(str(tb / "learned")).Reload()
    tags = accumulator.Tags()
    assert "train/value_loss" in tags["scalars"] and "eval/mean_abs_inventory" in tags["scalars"]
    assert any(tag.startswith("eval/quotes") for tag in tags["images"])
    plugins = set(accumulator.PluginTagToContent("custom_scalars")) | set(accumulator.PluginTagToContent("hparams"))
    assert "custom_scalars__config__" in plugins and "_hparams_/experiment" in plugins


def test_trained_run_loads_in_eval(finished_run, tmp_path):
    from eval.cli import main as eval_main

    run_dir, _ = finished_run
    out = tmp_path / "ev"
    assert (
        eval_main(
            [
                "--world",
                "default",
                "--set",
                "horizon=0.16",
                "--policy",
                f"run:{run_dir}",
                "--policy",
                "optimal",
                "--episodes",
                "8",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert f"run:{run_dir}" in json.loads((out / "metrics.json").read_text())["policies"]


def test_resume_continues_the_step_counter(finished_run, tmp_path):
    import shutil

    run_dir = tmp_path / "copy"
    shutil.copytree(finished_run[0], run_dir)
    done = run_cli("--resume", str(run_dir), "--set", "total_timesteps=2048")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" in done.stdout and "step 1,024" in done.stdout
    history = json.loads((run_dir / "evaluations.json").read_text())
    assert [entry["step"] for entry in history] == [512, 1024, 1536, 2048]
    assert json.loads((run_dir / "training.json").read_text())["num_timesteps"] == 2048
    steps = scalar_steps(run_dir / "tb" / "learned", "eval/reward_mean")
    assert steps == [512, 1024, 1536, 2048]


def start_long_run(tmp_path, run_dir, checkpoints=1):
    """A training run in its own process, returned once it has written ``checkpoints`` checkpoints."""
    config = write_config(tmp_path, total_timesteps=10_000_000)
    process = subprocess.Popen(  # output to files: a full pipe would stall the run while we wait
        [sys.executable, "-m", "train", "--config", str(config), "--run-dir", str(run_dir)],
        cwd=ROOT,
        stdout=(tmp_path / "stdout.log").open("w"),
        stderr=(tmp_path / "stderr.log").open("w"),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # A background launcher (nohup … &) leaves SIGINT ignored, and children inherit that; undo it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while time.time() < deadline and len(list((run_dir / "checkpoints").glob("step_*/state.json"))) < checkpoints:
        time.sleep(0.2)
    return process


def test_sigint_leaves_a_usable_checkpoint(tmp_path):
    run_dir = tmp_path / "long"
    process = start_long_run(tmp_path, run_dir)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=300)
    stdout, stderr = (tmp_path / "stdout.log").read_text(), (tmp_path / "stderr.log").read_text()
    assert process.returncode == 130, stderr[-3000:]
    assert "checkpoint saved" in stdout and "Traceback" not in stderr
    state = json.loads(sorted((run_dir / "checkpoints").glob("step_*/state.json"))[-1].read_text())
    reached = state["num_timesteps"]
    done = run_cli("--resume", str(run_dir), "--set", f"total_timesteps={reached + 256}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((run_dir / "training.json").read_text())["num_timesteps"] >= reached + 256


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learning_rate": 0.1}, "unknown key learning_rate"),
        ({"total_timesteps": "lots"}, "total_timesteps must be an integer"),
        ({"total_timesteps": 0}, "total_timesteps must be ≥ 1"),
        ({"env": {"num_envs": 8, "reward": "sharpe"}}, "env.reward must be one of"),
        ({"env": {"num_env": 8}}, "unknown key env.num_env"),
        ({"env": {"num_envs": 8, "close_starts": 2}}, "env.close_starts must be a share in [0, 1]"),
        ({"env": {"num_envs": 8, "close_window": 0}}, "env.close_window must be a whole number of steps ≥ 1"),
        ({"env": {"num_envs": 8, "close_inventory": "flat"}}, "env.close_inventory must be one of"),
        ({"world": {"preset": "nyse"}}, "world.preset must be one of"),
        ({"world": {"preset": "default", "overrides": {"sigma": -1}}}, "sigma"),
        ({"world": {"preset": "default", "overrides": {"volatility": 1}}}, "world.overrides.volatility"),
        ({"algorithm": {"name": "DQN"}}, "algorithm.name must be one of"),
        ({"algorithm": {"name": "PPO", "final_quote_std": -0.1}}, "algorithm.final_quote_std must be a finite number"),
        ({"algorithm": {"name": "PPO", "hyperparameters": {"n_step": 32}}}, "algorithm.hyperparameters.n_step"),
        ({"algorithm": {"name": "PPO", "policy_kwargs": {"activation_fn": "nn.Tanh()"}}}, "activation_fn"),
        ({"evaluation": {"baselines": ["greedy"]}}, "evaluation.baselines: unknown policy 'greedy'"),
        ({"device": "tpu"}, "device must be one of"),
        ({"algorithm": {"name": "PPO", "hyperparameters": {"learning_rate": {"cosine": [1, 0]}}}}, "learning_rate"),
        ({"algorithm": {"name": "PPO", "hyperparameters": {"gamma": {"linear": [0.9, 0.99]}}}}, "gamma"),
    ],
)
def test_config_errors_exit_2_and_name_the_key(tmp_path, capsys, change, message):
    config = write_config(tmp_path, **change)
    assert main(["--config", str(config), "--run-dir", str(tmp_path / "never")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_set_overrides_and_cli_errors(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "--set", "evaluation.episodes=0", "--run-dir", str(tmp_path / "x")]) == 2
    assert "evaluation.episodes must be ≥ 1" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read config" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err


def test_corrupted_newest_checkpoint_falls_back_to_the_previous_one(finished_run, tmp_path, capsys):
    import shutil

    run_dir = tmp_path / "broken"
    shutil.copytree(finished_run[0], run_dir)
    *_, previous, latest = sorted((run_dir / "checkpoints").glob("step_*"))
    (latest / "model.zip").write_bytes((latest / "model.zip").read_bytes()[:100])  # truncated
    with pytest.warns(UserWarning, match=f"checkpoint {latest.name} is corrupted.*{latest / 'model.zip'}"):
        assert main(["--resume", str(run_dir), "--set", "total_timesteps=2048"]) == 0
    assert f"from {previous.name}" in capsys.readouterr().out


def test_no_sound_checkpoint_is_bad_input(finished_run, tmp_path, capsys):
    import shutil

    run_dir = tmp_path / "all_broken"
    shutil.copytree(finished_run[0], run_dir)
    for checkpoint in (run_dir / "checkpoints").glob("step_*"):
        (checkpoint / "state.json").write_text("{not json")
    with pytest.warns(UserWarning, match="corrupted"):
        assert main(["--resume", str(run_dir), "--set", "total_timesteps=4096"]) == 2
    assert "every checkpoint" in capsys.readouterr().err


def test_kill_9_loses_at_most_one_checkpoint_interval(tmp_path):
    run_dir = tmp_path / "killed"
    process = start_long_run(tmp_path, run_dir, checkpoints=2)
    process.kill()  # SIGKILL: no handler runs
    process.wait(timeout=60)
    reached = json.loads(sorted((run_dir / "checkpoints").glob("step_*/state.json"))[-1].read_text())["num_timesteps"]
    done = run_cli("--resume", str(run_dir), "--set", f"total_timesteps={reached + 512}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"at step {reached:,}" in done.stdout
    assert json.loads((run_dir / "training.json").read_text())["num_timesteps"] >= reached + 512
    assert not list((run_dir / "checkpoints").glob(".staging-*"))


class FlakyEnv:
    """Wraps the training VecEnv: after ``after`` steps it raises, or returns NaN rewards."""

    def __init__(self, failure, after=600):
        self.failure, self.after = failure, after

    def patch(self, monkeypatch):
        from envs.sb3_vec_env import MarketMakingVecEnv

        failure, after = self.failure, self.after

        class Flaky(MarketMakingVecEnv):
            steps = 0

            def step_wait(self):
                observation, reward, done, infos = super().step_wait()
                Flaky.steps += self.num_envs
                if Flaky.steps > after:
                    if failure == "nan":
                        reward = np.full_like(reward, np.nan)
                    else:
                        raise ValueError("Expected parameter loc (Tensor of shape (8, 2)) to satisfy Real()")
                return observation, reward, done, infos

        monkeypatch.setattr("train.trainer.MarketMakingVecEnv", Flaky)


def test_a_crash_during_training_is_not_a_typo(tmp_path, monkeypatch, capsys):
    """torch's ValueError mid-run: traceback, a checkpoint at the crash, exit 1 (not 2), and it resumes."""
    FlakyEnv("raise").patch(monkeypatch)
    run_dir = tmp_path / "crash"
    assert main(["--config", str(write_config(tmp_path, total_timesteps=4096)), "--run-dir", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "Expected parameter loc" in err and "training failed at step" in err
    assert f"resume with: python -m train --resume {run_dir.absolute()}" in err
    saved = sorted((run_dir / "checkpoints").glob("step_*"))[-1]
    assert json.loads((saved / "state.json").read_text())["num_timesteps"] > 512  # saved at the crash
    monkeypatch.undo()
    assert main(["--resume", str(run_dir), "--set", "total_timesteps=2048"]) == 0


def test_non_finite_training_stops_at_once_with_the_diagnosis(tmp_path, monkeypatch, capsys):
    FlakyEnv("nan").patch(monkeypatch)
    run_dir = tmp_path / "nan"
    assert main(["--config", str(write_config(tmp_path, total_timesteps=100_000)), "--run-dir", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert "training went non-finite" in err and "non-finite reward at step 608" in err
    # No checkpoint of the diverged model: the newest is the last sound one, at the periodic interval.
    steps = [json.loads(p.read_text())["num_timesteps"] for p in (run_dir / "checkpoints").glob("step_*/state.json")]
    assert steps == [512]


def test_a_checkpoint_that_cannot_be_written_leaves_the_previous_one(finished_run, tmp_path, monkeypatch):
    import errno
    import shutil

    from train.checkpoints import list_checkpoints, save_checkpoint

    run_dir = tmp_path / "full_disk"
    shutil.copytree(finished_run[0], run_dir)
    before = {p.name: (p / "model.zip").read_bytes() for p in list_checkpoints(run_dir)}

    class Model:
        num_timesteps = 9_999

        def save(self, path):
            Path(path).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(run_dir, Model(), None, {})
    after = {p.name: (p / "model.zip").read_bytes() for p in list_checkpoints(run_dir)}
    assert after == before
    assert not list((run_dir / "checkpoints").glob(".staging-*"))

    from train.comparison import ComparisonCallback

    callback = ComparisonCallback.__new__(ComparisonCallback)
    callback.run_dir, callback.next_checkpoint, callback.next_evaluation = run_dir, 0, 10**9
    callback.bar = type("Bar", (), {"update": lambda self, n: None, "n": 0})()
    monkeypatch.setattr(ComparisonCallback, "num_timesteps", 9_999, raising=False)
    monkeypatch.setattr(ComparisonCallback, "checkpoint", lambda self: save_checkpoint(run_dir, Model(), None, {}))
    callback.config = type("C", (), {"checkpoint_frequency": 512})()
    with pytest.warns(UserWarning, match=f"could not be written.*{sorted(before)[-1]}.* is intact"):
        callback._on_step()


def test_a_ctrl_c_during_a_checkpoint_write_lands_after_the_checkpoint(tmp_path):
    # SIGINT inside torch's zip writer surfaced as a RuntimeError (a "crash", exit 1); it is held until the
    # checkpoint is in place, then raised as the interrupt it is.
    import os
    import signal

    from train.checkpoints import list_checkpoints, save_checkpoint

    class Model:
        num_timesteps = 4_096

        def save(self, path):
            os.kill(os.getpid(), signal.SIGINT)
            Path(path).write_bytes(b"whole")

    statistics = type("Running", (), {"mean": 0.0, "var": 1.0, "count": 1.0})()
    normalization = type(
        "VecNormalize",
        (),
        {"norm_obs": False, "norm_reward": True, "ret_rms": statistics, "clip_obs": 10.0, "clip_reward": 10.0}
        | {"gamma": 0.99, "epsilon": 1e-8},
    )()
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, Model(), normalization, {})
    (saved,) = list_checkpoints(tmp_path)
    assert (saved / "model.zip").read_bytes() == b"whole"
    assert json.loads((saved / "state.json").read_text())["num_timesteps"] == 4_096
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_resume_trains_on_the_recorded_world(finished_run, tmp_path, monkeypatch, capsys):
    import shutil

    from envs import presets
    from eval.run_folder import load_world

    run_dir = tmp_path / "moved_preset"
    shutil.copytree(finished_run[0], run_dir)
    recorded = load_world(run_dir / "world.json")
    assert recorded.min_offset is not None and recorded.inventory_scale is not None  # resolved, not a name
    monkeypatch.setitem(presets.PRESETS, "default", {**presets.PRESETS["default"], "sigma": 5.0})
    seen = []
    original = __import__("train.trainer", fromlist=["build_env"]).build_env
    monkeypatch.setattr("train.trainer.build_env", lambda config, world: seen.append(world) or original(config, world))
    assert main(["--resume", str(run_dir), "--set", "total_timesteps=1536"]) == 0
    assert "now gives a different world" in capsys.readouterr().out
    assert seen == [recorded] and seen[0].sigma == 2.0
    assert main(["--resume", str(run_dir), "--set", "sigma=3"]) == 2
    assert "trains on its recorded world" in capsys.readouterr().err


def test_the_run_folder_records_the_resolved_world_and_code_version(finished_run):
    from envs import make_world

    document = json.loads((finished_run[0] / "world.json").read_text())
    world = make_world("default", horizon=0.16)
    assert document["preset"] == "default" and document["code_version"]
    assert document["fields"]["min_offset"] == pytest.approx(world.offset_range[0])
    assert document["fields"]["inventory_scale"] == pytest.approx(world.inventory_unit)
    assert document["fields"]["time_scale"] == pytest.approx(world.time_unit)
    assert document["fields"]["horizon"] == 0.16


def test_a_world_recorded_before_the_time_unit_keeps_the_session_as_its_unit(finished_run, tmp_path):
    """Runs recorded before ``time_scale`` existed observed the fraction of the session left."""
    from eval.run_folder import load_world

    document = json.loads((finished_run[0] / "world.json").read_text())
    long = {"horizon": 30.0, "dt": 0.03, "arrival_intensity": 10.0, "fill_decay": 9.5, "terminal_penalty": 4.0}
    document["fields"].update(long, time_scale=None)
    (tmp_path / "now.json").write_text(json.dumps(document))
    del document["fields"]["time_scale"]
    (tmp_path / "before.json").write_text(json.dumps(document))
    assert load_world(tmp_path / "now.json").time_unit < 5.0
    assert load_world(tmp_path / "before.json").time_unit == 30.0


def test_shipped_single_asset_configs_observe_the_session_fraction_and_close_proximity():
    """Their sessions are shorter than the close's span: the time unit and features predate time_scale."""
    from train.config import load_config, world_of

    for name in ("default", "as2008", "toxic", "regimes", "demo", "hedged"):
        world = world_of(load_config(ROOT / "configs" / f"{name}.yaml"))
        assert world.time_unit == world.horizon and world.observed_features == ("close_proximity",), name


def test_shipped_configs_validate_and_accept_overrides():
    from train.config import load_config

    for name in ("default", "as2008", "toxic", "regimes", "demo", "hedged"):
        config = load_config(ROOT / "configs" / f"{name}.yaml", ["total_timesteps=1234"])
        assert config.total_timesteps == 1234


def test_a_policy_quotes_the_same_prices_in_another_world(finished_run):
    """Trained on default (horizon 0.16), evaluated in as2008 (its own offset range [-12, 12], Q = 50,
    horizon 1): for the same inventory, time to close and volatility, the same prices."""
    from envs import action_to_quotes, make_world, observation_at
    from eval.learned import load_learned

    home, away = make_world("default", horizon=0.16), make_world("as2008")
    at_home, abroad = load_learned(finished_run[0], home), load_learned(finished_run[0], away)
    assert not at_home.translates and abroad.translates
    inventory = np.repeat(np.arange(-10, 11), 3)[:, None]
    time_to_close = np.tile([0.16, 0.08, 0.005], 21)
    home_obs = observation_at(home, inventory, np.rint(time_to_close / home.dt).astype(int))
    away_obs = observation_at(away, inventory, np.rint(time_to_close / away.dt).astype(int))
    assert not np.allclose(home_obs, away_obs)  # the two worlds observe these states differently
    home_quotes = action_to_quotes(home, at_home.predict(home_obs)[0])
    away_quotes = action_to_quotes(away, abroad.predict(away_obs)[0])
    resolution = (away.offset_range[1] - away.offset_range[0]) * 2.0**-22  # float32 actions in as2008's range
    for mine, theirs in zip(home_quotes[:2], away_quotes[:2], strict=True):
        np.testing.assert_allclose(theirs, mine, atol=resolution)
    np.testing.assert_array_equal(home_quotes[2], away_quotes[2])
    assert np.ptp(home_quotes[0]) > 0.01  # the quotes do depend on the state


def test_a_policy_refuses_a_world_with_another_observation_layout(finished_run, tmp_path, capsys):
    from eval.cli import main as eval_main

    code = eval_main(
        [
            "--set",
            "observation_features=[mid_return]",
            "--policy",
            f"run:{finished_run[0]}",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    assert (
        "trained observing ['inventory', 'time_to_close', 'volatility', 'close_proximity']" in capsys.readouterr().err
    )


def test_a_hedged_run_trains_evaluates_and_carries_its_hedge_leg(tmp_path):
    """Rung 3 end to end: a tiny PPO run in the hedged world (three action legs), its report with the hedge
    metrics, and in a world with another largest trade (another action scale) the same trades in lots."""
    from envs import action_to_hedge, make_world, observation_at
    from eval.learned import load_learned

    run_dir = tmp_path / "hedged"
    world = {"preset": "hedged", "overrides": {"horizon": 0.16}}
    evaluation = {**TINY["evaluation"], "baselines": ["symmetric", "no_hedge", "closed_form", "optimal"]}
    done = run_cli(
        "--config", str(write_config(tmp_path, world=world, evaluation=evaluation)), "--run-dir", str(run_dir)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    learned = json.loads((run_dir / "report" / "metrics.json").read_text())["policies"]["learned"]
    assert {"hedge_volume", "hedge_ratio", "net_risk_mean", "hedge_cost", "hedge_pnl"} <= set(learned)
    home = make_world("hedged", horizon=0.16)
    away = home.replace(hedge_max_trade=6)
    at_home, abroad = load_learned(run_dir, home), load_learned(run_dir, away)
    assert abroad.translates
    # A tiny run barely trades; the network's output is replaced by actions spanning the hedge leg, so that
    # what is checked is the mapping of the trade from the training world to the other.
    actions = np.zeros((13, 3), dtype=np.float32)
    actions[:, 2] = np.linspace(-1, 1, 13)
    for policy in (at_home, abroad):
        policy.model.predict = lambda observation, *args, **kwargs: (actions[: len(observation)], None)
    inventory, hedge = np.arange(-6, 7)[:, None], np.zeros((13, 1), dtype=int)
    home_trades = action_to_hedge(home, at_home.predict(observation_at(home, inventory, 16, 0, hedge))[0])
    away_trades = action_to_hedge(away, abroad.predict(observation_at(away, inventory, 16, 0, hedge))[0])
    np.testing.assert_array_equal(home_trades[:, 0], [-2, -2, -1, -1, -1, 0, 0, 0, 1, 1, 1, 2, 2])  # rint(2a)
    # In the away world a = ±1 means 6 lots, yet the policy trades what it trades at home.
    np.testing.assert_array_equal(away_trades, home_trades)


def test_the_recipe_opens_close_starts_by_default_in_every_market():
    """The recipe spends 5 % of training steps in sessions opened near the close, at visited inventories, in every
    market (one training path); an explicit share reaches the books."""
    recipe = load_config(None)
    assert (recipe.env.close_starts, recipe.env.close_inventory) == (0.05, "visited")
    assert load_config(None, ["world.preset=hedged"]).env.close_starts == 0.05
    assert load_config(None, ["world.preset=two_assets"]).env.close_starts == 0.05
    assert load_config(None, ["world.preset=informed_flow"]).env.close_starts == 0.05
    config = load_config(None, ["world.preset=two_assets", "env.close_starts=0.3", "env.num_envs=4"])
    batch = build_env(config, world_of(config)).venv.batch
    assert (batch.close_starts, batch.close_inventory, batch.n) == (0.3, "visited", 4)


def test_a_run_with_close_starts_trains_on_them_and_records_them(tmp_path):
    """``env.close_starts`` reaches the training markets and the resolved config; the training log's episodes
    are whole sessions only, and the evaluation's sessions stay whole."""
    run_dir = tmp_path / "close"
    world = {"preset": "default", "overrides": {"horizon": 0.16, "observation_features": ["close_proximity"]}}
    env = {**TINY["env"], "close_starts": 0.75, "close_window": 4, "close_inventory": "visited"}
    done = run_cli("--config", str(write_config(tmp_path, world=world, env=env)), "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["env"]["close_starts"] == 0.75 and resolved["env"]["close_window"] == 4
    assert resolved["env"]["close_inventory"] == "visited"
    accumulator = EventAccumulator(str(run_dir / "tb" / "learned"), size_guidance={"scalars": 0}).Reload()
    tags = accumulator.Tags()["scalars"]
    lengths = (
        [event.value for event in accumulator.Scalars("rollout/ep_len_mean")] if "rollout/ep_len_mean" in tags else []
    )
    assert all(length == 32 for length in lengths)  # sessions opened near the close are not logged as episodes
    config = load_config(run_dir / "config.yaml")
    batch = build_env(config, world_of(config)).venv.batch
    assert batch.close_starts == 0.75 and batch.close_window == 4 and batch.close_inventory == "visited"
    assert batch.close_probability == pytest.approx(0.75 * 32 / (0.75 * 32 + 0.25 * 2.5))
    assert json.loads((run_dir / "report" / "metrics.json").read_text())["episodes"] == TINY["evaluation"]["episodes"]


def test_a_run_with_a_quote_std_ceiling_ends_below_it(tmp_path):
    """``algorithm.final_quote_std`` reaches training: the last rollout of 4 (progress 0.75) is collected with the
    quote legs' std at the ceiling, which one small update cannot undo (below half the initial 0.22)."""
    from stable_baselines3 import PPO

    from train.exploration import ceiling, final_action_std

    run_dir = tmp_path / "ceiling"
    config = write_config(tmp_path)
    done = run_cli("--config", str(config), "--set", "algorithm.final_quote_std=0.1", "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["algorithm"]["final_quote_std"] == 0.1
    world = world_of(load_config(run_dir / "config.yaml"))
    cap = ceiling(np.exp(-1.5), final_action_std(world, 0.1)[0], 0.75)
    assert cap < 0.5 * np.exp(-1.5)
    std = PPO.load(run_dir / "final" / "model.zip").policy.log_std.exp().detach().numpy()
    np.testing.assert_allclose(std, cap, rtol=0.02)
