"""Training on a dealer (configs/two_assets.yaml's world): the run folder, the comparison against the dealer's
ladder in TensorBoard, resume, and bad input naming the key."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from envs import action_to_quotes, observation_at
from envs.interface import interface_of
from envs.market import Asset, Market, Penalty
from envs.presets import make_market, mean_variance_market
from eval.cli import main as evaluate
from eval.evaluate import LADDER as DEALER_BASELINES
from eval.learned import LearnedPolicy, load_learned
from eval.run_folder import RunFolder, load_world
from train.cli import main
from train.config import load_config, world_of

ROOT = Path(__file__).resolve().parents[2]
TINY_DEALER = {
    "experiment": "tiny_dealer",
    "seed": 1,
    "total_timesteps": 1600,
    "checkpoint_frequency": 800,
    "world": {"preset": "two_assets", "overrides": {"horizon": 0.1}},  # 20 steps per session
    "env": {"num_envs": 8},
    "algorithm": {"policy_kwargs": {"net_arch": [16, 16]}, "hyperparameters": {"n_epochs": 2}},
    "evaluation": {"frequency": 800, "episodes": 32, "seed": 7},
}


def test_a_dealer_config_gets_the_dealers_ladder_and_derived_hyperparameters():
    config = load_config(None, ["world.preset=two_assets"])
    assert config.evaluation.baselines == DEALER_BASELINES
    assert config.algorithm.hyperparameters["n_steps"] == 200 and config.algorithm.hyperparameters["gamma"] == 0.999
    assert load_config(None, []).evaluation.baselines[1] == "linear_skew_calibrated"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["world.preset=two_assets", "evaluation.baselines=[linear_skew_calibrated]"],
            "quotes one asset; got a market of 2",
        ),
        (["world.preset=dealer", "world.overrides.sigma=1"], "unknown key world.overrides.sigma; accepted"),
        (["world.preset=dealer", "world.overrides.dt=0.3"], "world.overrides: dt must divide horizon"),
        (["world.preset=bonds"], "world.preset must be one of .*two_assets"),
    ],
)
def test_bad_dealer_configs_exit_2_naming_the_key(sets, message, capsys):
    args = [item for entry in sets for item in ("--set", entry)]
    assert main(["--config", str(ROOT / "configs/two_assets.yaml"), *args, "--run-dir", "/nonexistent/never"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err), err


def train_tiny(tmp_path: Path, preset: str) -> tuple[Path, RunFolder]:
    """A tiny training run on ``preset`` (20 steps a session); its run folder, checked to record the market."""
    config = tmp_path / f"{preset}.yaml"
    config.write_text(yaml.safe_dump({**TINY_DEALER, "world": {"preset": preset, "overrides": {"horizon": 0.1}}}))
    run_dir = tmp_path / "run"
    assert main(["--config", str(config), "--run-dir", str(run_dir)]) == 0
    run = RunFolder(run_dir)
    assert load_world(run.world) == make_market(preset, horizon=0.1)
    return run_dir, run


def test_training_on_a_dealer_compares_against_its_ladder_and_resumes(tmp_path, capsys):
    run_dir, run = train_tiny(tmp_path, "two_assets")
    document = json.loads((run.report / "metrics.json").read_text())
    assert list(document["policies"]) == ["learned", *DEALER_BASELINES]
    assert "optimality_score" in document["policies"]["optimal"]  # null here: 20 steps leave no gap to score
    assert "| `learned` |" in (run.report / "report.md").read_text()
    history = json.loads(run.evaluations.read_text())
    assert [entry["step"] for entry in history] == [800, 1600]
    assert {"reward_mean", "mean_abs_inventory_0", "mean_abs_inventory_1"} <= set(history[-1]["policies"]["learned"])
    for label in ("learned", "closed_form", "optimal"):
        tags = EventAccumulator(str(run.tensorboard / label)).Reload().Tags()["scalars"]
        assert {"eval/reward_mean", "eval/penalty", "eval/net_risk_mean", "eval/fills_bid_1"} <= set(tags), label
    assert main(["--resume", str(run_dir), "--set", "total_timesteps=2400"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert json.loads(run.training.read_text())["num_timesteps"] == 2400

    # eval: in the preset's market (a session ten times longer) the policy acts through its training interface, as a
    # single-asset world's learned policy does; in a market of another layout it is refused, with exit code 2
    out = tmp_path / "eval"
    assert (
        evaluate(["--scenario", "two_assets", "--policy", f"run:{run_dir}", "--episodes", "20", "--out", str(out)]) == 0
    )
    assert f"run:{run_dir}" in json.loads((out / "metrics.json").read_text())["policies"]
    assert evaluate(["--world", "default", "--policy", f"run:{run_dir}", "--episodes", "20", "--out", str(out)]) == 2
    assert "the policy cannot act in this world: it was trained observing ['inventory_0'" in capsys.readouterr().err
    assert evaluate(["--scenario", "dealer", "--policy", "symmetric", "--out", str(out)]) == 2
    assert "a market scenario evaluates its own ladder and run:PATH" in capsys.readouterr().err


def test_eval_scores_a_learned_dealer_on_its_preset(tmp_path, capsys):
    from stable_baselines3 import PPO

    from envs import MarketMakingVecEnv

    dealer = make_market("two_assets")
    model_file = tmp_path / "model.zip"
    PPO("MlpPolicy", MarketMakingVecEnv(2, dealer), n_steps=8, batch_size=16, seed=0).save(model_file)
    out = tmp_path / "eval"
    assert (
        evaluate(["--scenario", "two_assets", "--policy", f"run:{model_file}", "--episodes", "40", "--out", str(out)])
        == 0
    )
    policies = json.loads((out / "metrics.json").read_text())["policies"]
    assert list(policies)[0] == f"run:{model_file}" and "optimality_score" in policies[f"run:{model_file}"]


def test_a_learned_dealer_quotes_what_its_network_asks_for(tmp_path):
    from stable_baselines3 import PPO

    from envs import MarketMakingVecEnv

    dealer = make_market("dealer")
    model = PPO("MlpPolicy", MarketMakingVecEnv(2, dealer), n_steps=8, batch_size=16, seed=0)
    policy = LearnedPolicy(model, dealer, None)
    inventory, steps_left = np.array([[4, -2], [0, 0], [-15, 10]]), np.array([200, 100, 4])
    actions, _ = model.predict(observation_at(dealer, inventory, steps_left), deterministic=True)
    bid, ask, bid_quoted, ask_quoted = action_to_quotes(dealer, actions)
    expected = np.where(bid_quoted, bid, np.inf), np.where(ask_quoted, ask, np.inf)
    bid, ask, trade = policy(inventory, None, steps_left * dealer.dt)
    assert trade is None
    for ours, theirs in zip((bid, ask), expected, strict=True):
        assert np.array_equal(ours, theirs)
    with pytest.raises(ValueError, match=r"the model observes shape \(5,\), but its world gives \(6,\)"):
        LearnedPolicy(model, mean_variance_market(0.5, assets=(Asset(),) * 3), None)


def test_a_recorded_market_whose_interface_this_code_derives_differently_is_refused(tmp_path):
    from eval.run_folder import world_document

    document = world_document(make_market("two_assets"), "two_assets")
    assert document["layout"] == 2 and document["interface"] == interface_of(make_market("two_assets")).document()
    document["interface"]["offset_range"][0][1] += 0.5
    path = tmp_path / "world.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"derives another interface for the market .* recorded there \(0\.1\.0\+"):
        load_world(path)


@pytest.mark.parametrize("kind", ["dealer", "market"])
def test_a_market_recorded_before_the_one_observation_table_is_refused_naming_its_version(tmp_path, kind):
    """Records before the one table (``kind: dealer``, and ``kind: market`` with derived ``scales`` and no
    ``layout``) were trained observing inventories, hedges and the time as a share of the session, bids before
    asks: their networks cannot read today's observations, so they are refused, naming the version to check out."""
    market = make_market("two_assets")
    fields = market.document() if kind == "market" else {"risk_aversion": 0.5, "horizon": 1.0, "dt": 0.005}
    old = {
        "kind": kind,
        "preset": "two_assets",
        "fields": fields,
        "scales": {"offset_range": [[-1.3803, 3.396]] * 2, "inventory_unit": [3.0, 3.0]},
        "code_version": "0.1.0+6187c85",
    }
    path = tmp_path / "world.json"
    path.write_text(json.dumps(old))
    with pytest.raises(ValueError, match=r"observation layout 1 .* \(0\.1\.0\+6187c85: git checkout that commit\)"):
        load_world(path)


def test_training_on_a_hedged_dealer_records_its_hedges_and_trades_them(tmp_path):
    config = tmp_path / "hedged.yaml"
    tiny = {**TINY_DEALER, "world": {"preset": "two_assets_hedged", "overrides": {"horizon": 0.1}}}
    config.write_text(yaml.safe_dump({**tiny, "total_timesteps": 800}))
    run_dir = tmp_path / "run"
    with pytest.warns(UserWarning, match="optimal cannot be built .* 1 hedge instrument"):
        assert main(["--config", str(config), "--run-dir", str(run_dir)]) == 0
    run = RunFolder(run_dir)
    dealer = load_world(run.world)
    assert dealer == make_market("two_assets_hedged", horizon=0.1) and dealer.n_hedges == 1
    policies = json.loads((run.report / "metrics.json").read_text())["policies"]
    assert list(policies) == ["learned", *DEALER_BASELINES[:-1]]  # no optimum with hedges
    assert policies["closed_form"]["hedge_cost"] > 0 and "mean_abs_hedge" in policies["learned"]
    learned = load_learned(run_dir, dealer)
    _, _, trade = learned(np.array([[3, -1]]), np.array([[2]]), np.array([0.05]))
    assert trade.shape == (1, 1) and trade.dtype == np.int64


def test_training_on_two_correlated_assets_with_regimes_and_fees_scores_against_the_optimum(tmp_path):
    """The market neither stack could hold before: the learned policy observes the regime's volatility, and the
    ladder's optimum (over step, regime and both inventories) scores every policy."""
    run_dir, run = train_tiny(tmp_path, "two_assets_regimes")
    market = load_world(run.world)
    assert market.regimes.count == 2
    learned = load_learned(run_dir, market)
    # Two inventories, the time to close, the volatility and the close's proximity.
    assert learned.model.observation_space.shape == (5,)
    document = json.loads((run.report / "metrics.json").read_text())
    policies = document["policies"]
    assert list(policies) == ["learned", *DEALER_BASELINES]
    # Few episodes: the optimum is not significantly below the closed form, and its exact value is reported.
    assert policies["optimal"]["vs_closed_form"]["ci95"][1] > 0
    assert policies["optimal"]["optimality_score"] == 1.0 and document["optimal_expected_reward"] > 0
    assert {"fees", "penalty", "spread_captured"} <= set(policies["learned"])


def test_a_nested_override_changes_only_the_fields_it_names():
    """``--set world.overrides.penalty.running=2`` keeps the preset's terminal penalty and its σ² scaling."""
    market = world_of(load_config(None, ["world.preset=two_assets_regimes", "world.overrides.penalty.running=2"]))
    assert market.penalty == Penalty(running=2.0, terminal=0.5, volatility_scaled=True)
    calm = make_market("two_assets_regimes", regimes={"switch_rates": ((-1.0, 1.0), (1.0, -1.0))})
    assert calm.regimes.scales == (0.5, 2.0) and calm.regimes.switch_rates[0] == (-1.0, 1.0)
    with pytest.raises(ValueError, match=r"^penalty: unknown Penalty field\(s\) \['gamma'\]"):
        make_market("two_assets", penalty={"gamma": 1.0})
    with pytest.raises(ValueError, match=r"^penalty: running must be a finite number ≥ 0; got -1"):
        make_market("two_assets", penalty={"running": -1})
    assert Market.from_document(make_market("two_assets_regimes").document()) == make_market("two_assets_regimes")


def test_a_learned_market_policy_quotes_the_same_prices_in_another_market():
    """A policy learned in one market acts in another of the same layout through its training interface: the same
    inventories and time to close give the same quotes [price], to the float32 action's resolution."""
    from stable_baselines3 import PPO

    from envs import MarketMakingVecEnv

    # Steps of one length in both: the close_proximity feature counts steps.
    home, away = make_market("two_assets", horizon=0.1), make_market("two_assets", horizon=0.5)
    model = PPO("MlpPolicy", MarketMakingVecEnv(2, home), n_steps=8, batch_size=16, seed=0)
    at_home, abroad = LearnedPolicy(model, home, None), LearnedPolicy(model, away, None, training_world=home)
    assert not at_home.translates and abroad.translates
    inventory = np.array([[4, -2], [0, 0], [-3, 5]])
    time_to_close = np.array([0.1, 0.05, 0.02])
    home_quotes = at_home(inventory, None, time_to_close)
    away_quotes = abroad(inventory, None, time_to_close)
    span = np.ptp(np.array(interface_of(home).offset_range))
    for mine, theirs in zip(home_quotes[:2], away_quotes[:2], strict=True):
        np.testing.assert_allclose(theirs, mine, atol=span * 2.0**-21)
