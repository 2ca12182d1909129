"""Replay on recorded flow: the accounting by hand on a tape built to order, the fill rules, the limit, paired
sessions, and the command end to end on the shipped capture."""

import json
from pathlib import Path

import numpy as np
import pytest

from baselines import make_policy
from envs.market import Asset, Market, Penalty
from eval.replay import replay_rollout, session_flow
from eval.tape import Tape

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "data" / "binance_spot_ethusdt"
# One session of 4 steps of 1 s (time unit 1 s): φ = 0.5, α = 2, fee 0.01 per lot.
MARKET = Market(
    assets=(Asset(s0=100.0, sigma=0.1, fill_decay=20.0, max_inventory=3, fee=0.01),),
    penalty=Penalty(running=0.5, terminal=2.0),
    horizon=4.0,
    dt=1.0,
)


def tape(trades, mids=(100.0, 100.0, 100.0, 100.2, 100.2)) -> Tape:
    """Quotes at 100 ± 0.01 from t = 0 with the mid at each step's start as given; trades (time, price, side)."""
    quote_time = np.r_[np.arange(len(mids), dtype=float) - 1e-3, len(mids) - 0.5]  # a last quote past the close
    quote_time[0] = 0.0
    mids = np.r_[mids, mids[-1]]
    time, price, side = (np.array(column, dtype=float) for column in zip(*trades, strict=True))
    return Tape(time, price, np.ones(time.size), side.astype(np.int64), quote_time, mids - 0.01, mids + 0.01, 0.0, ())


def run(trades, half_spread=0.05, rule="through", probability=0.5, mids=(100.0, 100.0, 100.0, 100.2, 100.2)):
    flow = session_flow(tape(trades, mids), MARKET, time_unit=1.0, lot=1.0, tick=0.01)
    policy = make_policy("symmetric", MARKET, half_spread=half_spread)
    return replay_rollout(MARKET, flow, lambda o: policy.predict(o)[0], rule, probability)


def test_the_accounting_is_the_simulators_by_hand():
    """A sell through the bid in step 0 and a buy through the ask in step 3: +1 lot over steps 0–2, the mid rises
    0.2 during step 2, flat at the close."""
    result = run([(0.5, 99.90, -1), (3.5, 100.30, 1)])
    half = pytest.approx(0.05, abs=1e-6)  # the quote's offset, to the float32 action's resolution
    assert result.bid_fills[0, 0] == 1 and result.ask_fills[0, 0] == 1 and result.final_inventory[0, 0] == 0
    assert result.flows["spread_captured"][0] / 2 == half
    assert result.flows["fees"][0] == pytest.approx(0.02)
    assert result.flows["inventory_pnl"][0] == pytest.approx(0.2)  # 1 lot held through the mid's +0.2
    assert result.flows["penalty"][0] == pytest.approx(3 * 0.5 * 1.0)  # φ·dt·q² on steps 0, 1, 2; flat at the close
    assert result.reward[0] == pytest.approx(result.pnl[0] - 1.5)
    assert result.pnl[0] == pytest.approx(result.flows["spread_captured"][0] + 0.2 - 0.02)


def test_the_fill_rules_and_the_limit():
    at_bid = [(0.5, 100.0 - 0.05, -1)]  # a sell exactly at the bid's price
    assert run(at_bid).bid_fills[0, 0] == 0  # not through
    assert run(at_bid, rule="at_quote", probability=1.0).bid_fills[0, 0] == 1
    assert run(at_bid, rule="at_quote", probability=0.0).bid_fills[0, 0] == 0
    assert run([(0.5, 99.99, -1)]).bid_fills[0, 0] == 0  # inside the quote
    big = tape([(0.5, 99.0, -1)])
    big = Tape(
        big.trade_time, big.trade_price, np.array([5.0]), big.trade_side, big.quote_time, big.bid, big.ask, 0, ()
    )
    flow = session_flow(big, MARKET, time_unit=1.0, lot=1.0, tick=0.01)
    policy = make_policy("symmetric", MARKET, half_spread=0.05)
    refused = replay_rollout(MARKET, flow, lambda o: policy.predict(o)[0])
    assert refused.bid_fills[0, 0] == 0  # 5 lots would pass Q = 3: refused, as the simulator refuses


def test_a_tape_shorter_than_a_session_and_bad_rules_are_refused():
    with pytest.raises(ValueError, match=r"shorter than one session of 40 s"):
        session_flow(tape([(0.5, 99.9, -1)]), MARKET.replace(horizon=40.0), time_unit=1.0, lot=1.0)
    with pytest.raises(ValueError, match=r"fill rule must be one of \['through', 'at_quote'\]"):
        run([(0.5, 99.9, -1)], rule="queue")


def test_the_command_replays_policies_on_the_shipped_capture(tmp_path, capsys):
    from eval.calibration_report import main as calibrate
    from eval.cli import main as evaluate

    market = tmp_path / "eth.yaml"
    options = ["--horizon", "0.5", "--risk-aversion", "0.5", "--single-size"]
    assert calibrate([str(SHIPPED), "--out", str(market), *options]) == 0
    out = tmp_path / "replay"
    command = ["--world-file", str(market), "--replay", str(SHIPPED), "--policy", "symmetric"]
    assert evaluate([*command, "--policy", "avellaneda_stoikov", "--policy", "optimal", "--out", str(out)]) == 0
    document = json.loads((out / "metrics.json").read_text())
    assert document["episodes"] == 3 and document["replay"]["sessions"] == 3
    symmetric = document["policies"]["symmetric"]
    assert symmetric["fills_bid"] > 0 and "vs_avellaneda_stoikov" in symmetric
    assert "optimality_score" in symmetric  # one lot per request: the market's exact optimum replays too
    assert "Replayed on recorded flow, not simulated" in (out / "report.md").read_text()
    again = tmp_path / "again"
    assert evaluate([*command, "--policy", "avellaneda_stoikov", "--policy", "optimal", "--out", str(again)]) == 0
    assert json.loads((again / "metrics.json").read_text())["policies"] == document["policies"]  # deterministic
    assert evaluate(["--world", "default", "--replay", str(SHIPPED), "--out", str(out)]) == 2
    assert "--replay needs --world-file markets" in capsys.readouterr().err
    # The tick is read from the trades unless given; a coarser one fills only orders printing further through.
    assert 0 < document["replay"]["tick"] < 0.1
    coarse = tmp_path / "coarse"
    assert evaluate([*command, "--tick", "0.5", "--out", str(coarse)]) == 0
    replayed = json.loads((coarse / "metrics.json").read_text())
    assert replayed["replay"]["tick"] == 0.5
    assert replayed["policies"]["symmetric"]["fills_bid"] < symmetric["fills_bid"]
    assert evaluate([*command, "--tick", "-1", "--out", str(tmp_path / "bad")]) == 2
    assert "--tick must be a price step > 0; got -1.0" in capsys.readouterr().err


def test_the_sim_to_real_command_sets_simulation_beside_replay(tmp_path, capsys):
    from eval.sim_to_real import main

    out = tmp_path / "gap"
    command = [str(SHIPPED), "--out", str(out), "--episodes", "40", "--policy", "symmetric", "--policy", "optimal"]
    assert main(command) == 0
    document = json.loads((out / "metrics.json").read_text())
    assert document["replayed_sessions"] == 3 and 55 < document["split_seconds"] < 65
    for entry in document["policies"].values():
        gap = entry["replayed"]["reward_mean"] - entry["simulated"]["reward_mean"]
        assert entry["gap"]["mean"] == pytest.approx(gap) and entry["gap"]["ci95"][0] < gap < entry["gap"]["ci95"][1]
    assert document["policies"]["optimal"]["score"] == {"simulated": 1.0, "replayed": 1.0}
    report = (out / "report.md").read_text()
    assert "| `optimal` |" in report and "replayed on the rest in 3 sessions" in report
    assert Market.from_document(__import__("yaml").safe_load((out / "market.yaml").read_text())["market"])
    assert main([str(SHIPPED), "--out", str(tmp_path / "bad"), "--split", "1.5"]) == 2
    assert "--split must be in (0, 1)" in capsys.readouterr().err and not (tmp_path / "bad").exists()
