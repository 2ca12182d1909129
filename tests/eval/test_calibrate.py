"""Calibration from a tape: it recovers known parameters from data our model generates (written in the plain format
and read back), and on the shipped real capture it gives an ordinary market with its intervals and diagnostics."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from envs.market import Asset, Market
from eval.calibrate import calibrate, market_orders, simulated_tape, volatility_signature
from eval.tape import read_tape, write_plain

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "data" / "binance_spot_ethusdt"
TRUTH = Asset(
    s0=2000.0,
    sigma=2.0,
    arrival_intensity=300.0,
    sell_share=0.55,
    fill_decay=40.0,
    sizes=(1, 3),
    size_probabilities=(0.7, 0.3),
    max_inventory=30,
)


def inside(estimate, value, scale=1.0):
    return estimate.low * scale <= value <= estimate.high * scale


def test_calibration_recovers_the_parameters_of_data_drawn_from_the_model(tmp_path):
    write_plain(simulated_tape(TRUTH, 1800.0, 60.0, 0.01, 0.1, seed=2), tmp_path / "plain")
    tape = read_tape(tmp_path / "plain")
    result = calibrate(tape, time_unit=60.0, sampling=5.0, lot=0.1)
    assert inside(result.sigma, TRUTH.sigma / math.sqrt(60.0))
    bid, ask = 2 * TRUTH.sell_share * TRUTH.arrival_intensity, 2 * (1 - TRUTH.sell_share) * TRUTH.arrival_intensity
    assert inside(result.intensity["bid"], bid, 60.0) and inside(result.intensity["ask"], ask, 60.0)
    assert all(inside(result.decay[name], TRUTH.fill_decay) for name in ("bid", "ask", "pooled"))
    asset = result.market.assets[0]
    assert asset.sizes == (1, 3) and np.allclose(asset.size_probabilities, (0.7, 0.3), atol=0.03)
    assert asset.sell_share == pytest.approx(TRUTH.sell_share, abs=0.02)
    assert result.touch == pytest.approx(0.01) and result.stale < 0.01
    # Each sweep prints twice: counting every print as an order halves the mean depth beyond the touch.
    assert result.diagnostics["every print an order"]["bid"] == pytest.approx(1.0, abs=0.15)


def test_the_criterion_chooses_the_logistic_curve_where_the_data_follow_it():
    """Depths drawn from the logistic curve (α = −1, β = 50: flat near the touch, then falling): the AIC chooses it,
    α and β fall within their intervals, and the requests' rate A is recovered; on exponential data the criterion
    keeps the exponential curve."""
    import dataclasses

    truth = dataclasses.replace(TRUTH, fill_curve="logistic", fill_shift=-1.0, fill_slope=50.0, arrival_intensity=200.0)
    result = calibrate(simulated_tape(truth, 1800.0, 60.0, 0.01, 0.1, seed=4), time_unit=60.0, lot=0.1)
    assert result.curve == "logistic" and result.criterion["logistic"] < result.criterion["exponential"]
    assert inside(result.logistic["shift"], -1.0) and inside(result.logistic["slope"], 50.0)
    asset = result.market.assets[0]
    assert asset.fill_curve == "logistic" and asset.arrival_intensity == pytest.approx(200.0, rel=0.05)
    exponential = calibrate(simulated_tape(TRUTH, 1800.0, 60.0, 0.01, 0.1, seed=2), time_unit=60.0, lot=0.1)
    assert exponential.curve == "exponential"


def test_the_real_capture_calibrates_into_an_ordinary_market_with_its_diagnostics():
    tape = read_tape(SHIPPED)
    result = calibrate(tape, time_unit=60.0, horizon=5.0, dt=0.01, sampling=5.0)
    assert isinstance(result.market, Market) and Market.from_document(result.market.document()) == result.market
    for estimate in (result.sigma, *result.intensity.values(), *result.decay.values()):
        assert 0 < estimate.low <= estimate.value <= estimate.high and estimate.count > 0
    orders = market_orders(tape)
    assert orders.depth.size < tape.trade_time.size  # sweeps merged into orders
    assert 0.0 <= result.stale < 0.5 and result.touch == pytest.approx(0.005)
    assert set(result.diagnostics) == {"mid after each trade", "every print an order"}
    signature = volatility_signature(tape)
    assert set(signature) == {0.1, 1.0, 5.0, 15.0, 30.0}


def test_a_tape_too_short_for_the_sampling_is_refused_naming_it():
    tape = read_tape(SHIPPED)
    with pytest.raises(ValueError, match=r"sampling 60.0 s leaves fewer than 2 returns in a tape of 120 s"):
        calibrate(tape, sampling=60.0)


def test_the_command_writes_an_ordinary_market_file_and_its_report(tmp_path, capsys):
    import hashlib

    import yaml

    from eval.calibration_report import main

    out = tmp_path / "markets" / "eth.yaml"
    assert main([str(SHIPPED), "--out", str(out), "--time-unit", "60", "--horizon", "2"]) == 0
    document = yaml.safe_load(out.read_text())
    market = Market.from_document(document["market"])
    assert market.horizon == 2.0 and market.assets[0].fill_curve == "exponential"
    trades = SHIPPED / "trades.csv"
    assert document["provenance"]["sources"][0] == {
        "file": str(trades),
        "sha256": hashlib.sha256(trades.read_bytes()).hexdigest(),
    }
    assert document["estimates"]["sigma"]["unit"] == "price/√time"
    low, high = document["estimates"]["fill_decay_pooled"]["ci95"]
    assert low < market.assets[0].fill_decay < high
    report = tmp_path / "markets" / "eth-report"
    assert {path.name for path in report.iterdir()} == {"report.md", "intensity.png", "sizes.png"}
    text = (report / "report.md").read_text()
    assert "| fill_decay_bid |" in text and "orders measured short of it" in text
    err = capsys.readouterr().err
    assert "the tape spans 120 s" in err and "the exponential curve misses the bid's observed rate" in err


def test_the_command_on_model_data_raises_no_misfit_warning(tmp_path, capsys):
    from eval.calibration_report import main

    write_plain(simulated_tape(TRUTH, 1800.0, 60.0, 0.01, 0.1, seed=3), tmp_path / "plain")
    assert main([str(tmp_path / "plain"), "--out", str(tmp_path / "m.yaml"), "--lot", "0.1"]) == 0
    assert "misses" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--sampling", "0"], "--sampling must be > 0"), (["--lot", "-1"], "--lot must be > 0")],
)
def test_bad_command_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    from eval.calibration_report import main

    out = tmp_path / "m.yaml"
    assert main([str(SHIPPED), "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err and not out.exists() and not list(tmp_path.iterdir())
    assert main([str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "not a Binance capture (.gz) or a folder" in capsys.readouterr().err


def test_data_to_a_calibrated_market_that_eval_and_train_accept(tmp_path, capsys, monkeypatch):
    """The loop's first half in commands: calibrate, then evaluate in the market file (and train on it: the config
    accepts it, with its path made absolute for sweeps)."""
    import json

    from envs.presets import read_market_file
    from eval.calibration_report import main as calibrate_command
    from eval.cli import main as evaluate
    from train.config import ConfigError, load_config, world_of

    market_file = tmp_path / "eth.yaml"
    assert calibrate_command([str(SHIPPED), "--out", str(market_file), "--lot", "0.05", "--risk-aversion", "0.5"]) == 0
    out = tmp_path / "eval"
    command = ["--world-file", str(market_file), "--policy", "symmetric", "--policy", "avellaneda_stoikov"]
    assert evaluate([*command, "--episodes", "16", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    assert document["label"] == "eth" and set(document["policies"]) == {"symmetric", "avellaneda_stoikov"}
    assert evaluate([*command, "--set", "sigma=1", "--out", str(out)]) == 2
    assert "edit the market file given by --world-file" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("market: {horizon: -1}\n")
    assert evaluate(["--world-file", str(bad), "--out", str(out)]) == 2
    assert f"market file {bad}: horizon" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    config = load_config(None, ["world.file=eth.yaml"])
    assert config.world.file == str(market_file.resolve())
    assert config.evaluation.baselines == ("symmetric", "linear_skew", "avellaneda_stoikov", "closed_form", "optimal")
    assert world_of(config) == read_market_file(market_file)
    with pytest.raises(ConfigError, match=r"world.overrides: market file .*missing.yaml cannot be read"):
        load_config(None, [f"world.file={tmp_path / 'missing.yaml'}"])


def test_volatility_regimes_are_recovered_from_data_drawn_with_them(tmp_path):
    """Three hours of a mid switching between σ × 0.5 and σ × 2 (leaving at 0.2 and 0.4 a minute): the two-state
    fit holds each σ and each rate within its interval, the market holds them in its time unit with the
    mean-variance penalty scaled by σ², and its exact optimum builds; the same data without regimes keep one σ."""
    from baselines import make_policy
    from envs.market import Regimes

    regimes = Regimes(scales=(0.5, 2.0), switch_rates=((-0.2, 0.2), (0.4, -0.4)))
    asset = dataclasses.replace(TRUTH, sizes=(1,), size_probabilities=(1.0,))
    tape = simulated_tape(asset, 3 * 3600.0, 60.0, 0.01, 0.1, seed=3, quote_every=1.0, regimes=regimes)
    result = calibrate(tape, time_unit=60.0, sampling=5.0, lot=0.1, regimes=True, risk_aversion=0.1)
    fit = result.regimes
    assert fit.chosen and fit.why_not == ""
    for estimate, scale in zip(fit.sigma, regimes.scales, strict=True):
        assert inside(estimate, asset.sigma * scale / math.sqrt(60.0))
    for estimate, rate in zip(fit.leave_rate, (0.2, 0.4), strict=True):
        assert inside(estimate, rate / 60.0)
    market = result.market
    assert market.regimes.count == 2 and market.penalty.volatility_scaled
    sigma = result.sigma.value
    assert market.regimes.scales == pytest.approx([fit.sigma[0].value / sigma, fit.sigma[1].value / sigma])
    assert market.regimes.switch_rates[0][1] == pytest.approx(fit.leave_rate[0].value * 60.0)
    assert make_policy("optimal", market).market.regimes.count == 2
    plain = simulated_tape(asset, 3 * 3600.0, 60.0, 0.01, 0.1, seed=3, quote_every=1.0)
    kept = calibrate(plain, time_unit=60.0, sampling=5.0, lot=0.1, regimes=True)
    assert not kept.regimes.chosen and "AIC" in kept.regimes.why_not and kept.market.regimes.count == 1


def test_the_stale_mids_zero_returns_are_no_regime(tmp_path, capsys):
    """On the shipped capture sampled every second, two states fit the stale mid's zero returns (a state left within
    a sample): the market keeps one σ and says why; the report and the market file carry the fit."""
    import yaml

    from eval.calibration_report import main

    out = tmp_path / "eth.yaml"
    assert main([str(SHIPPED), "--out", str(out), "--regimes", "--sampling", "1"]) == 0
    document = yaml.safe_load(out.read_text())
    assert Market.from_document(document["market"]).regimes.count == 1
    assert {"sigma_calm", "sigma_stressed", "leave_rate_calm", "leave_rate_stressed"} <= set(document["estimates"])
    assert document["provenance"]["choices"]["regimes"] is True
    assert "the stale mid's zero returns, not a volatility regime" in capsys.readouterr().err
    assert "Volatility regimes: not held" in (tmp_path / "eth-report" / "report.md").read_text()
