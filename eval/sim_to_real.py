"""``python -m eval.sim_to_real DATA --out DIR``: the sim-to-real gap on one capture. The tape's first part calibrates a
market (``eval.calibrate``, one lot per request so that its exact optimum exists); every policy is then scored in the
calibrated simulator and replayed on the held-out rest (``eval.replay``), and the report sets the two side by side
per policy, with the gap (real − simulated) and its interval, and says where the data are too short to conclude.

Exit codes: 0 done; 2 bad input (named before anything is written).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from eval.calibrate import Calibration, calibrate
from eval.calibration_report import session_arguments
from eval.evaluate import build_baselines, build_policy, evaluate_policies, json_ready
from eval.files import atomic_write_json, atomic_write_text, staged
from eval.metrics import Z_95
from eval.replay import check_replay_arguments, replay_arguments, replay_runner, session_flow
from eval.specs import parse_spec
from eval.tape import Tape, read_tape

BAD_INPUT = 2
POLICIES = ("symmetric", "linear_skew_calibrated", "avellaneda_stoikov", "glft", "closed_form", "optimal")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.sim_to_real", description=__doc__.split("\n\n")[0])
    p.add_argument("data", type=Path, help="a Binance capture (.gz) or a plain-format folder (eval.tape)")
    p.add_argument("--out", type=Path, required=True, help="the report's folder")
    p.add_argument("--split", type=float, default=0.5, help="the share of the tape that calibrates (default 0.5)")
    session_arguments(p, horizon=0.25)
    p.add_argument("--risk-aversion", type=float, default=0.5, help="CARA γ of the market's penalty (default 0.5)")
    p.add_argument("--policy", action="append", metavar="SPEC", help="NAME[:k=v] or run:PATH (default: the ladder)")
    p.add_argument("--episodes", type=int, default=1000, help="simulated episodes per policy (default 1000)")
    replay_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_replay_arguments(args)
        tape, cut, fitted = split_calibration(args)
        market = fitted.market
        held_out = tape.between(cut, tape.duration)
        flow = session_flow(held_out, market, args.time_unit, fitted.lot, seed=args.seed, tick=args.tick)
        specs = [parse_spec(text) for text in args.policy or POLICIES]
        baselines, notes = build_baselines(market, [spec.text for spec in specs if spec.name != "run"], warn=False)
        policies = {  # in command-line order
            spec.text: (spec, build_policy(spec, market)) if spec.name == "run" else baselines[spec.text]
            for spec in specs
            if spec.name == "run" or spec.text in baselines
        }
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    simulated = evaluate_policies(market, policies, args.episodes, args.seed, warn=False)
    runner = replay_runner(flow, args.fill_rule, args.at_quote_probability)
    replayed = evaluate_policies(market, policies, flow.sessions, args.seed, warn=False, runner=runner)
    document = {
        "data": str(args.data),
        "split_seconds": cut,
        "market": market.document(),
        "simulated_episodes": args.episodes,
        "replayed_sessions": flow.sessions,
        "fill_rule": args.fill_rule,
        "notes": notes,
        "policies": {label: gap_entry(simulated[label].metrics, replayed[label].metrics) for label in policies},
    }
    with staged(args.out) as staging:
        atomic_write_json(staging / "metrics.json", json_ready(document))
        atomic_write_text(staging / "report.md", report_text(document))
        atomic_write_text(staging / "market.yaml", yaml.safe_dump({"market": document["market"]}, sort_keys=False))
    print(f"report: {args.out / 'report.md'}")
    return 0


def split_calibration(args: argparse.Namespace) -> tuple[Tape, float, Calibration]:
    """The tape of ``args.data``, the time [s] where its calibrating part ends (``args.split`` of its span), and the
    market calibrated on that part (one lot per request); ``ValueError`` for bad input."""
    if not 0.0 < args.split < 1.0:
        raise ValueError(f"--split must be in (0, 1); got {args.split}")
    tape = read_tape(args.data)
    cut = tape.quote_time[0] + args.split * (tape.duration - tape.quote_time[0])
    part = tape.between(0.0, cut)
    fitted = calibrate(part, args.time_unit, args.horizon, args.dt, risk_aversion=args.risk_aversion, single_size=True)
    return tape, cut, fitted


def gap_entry(simulated: dict[str, Any], replayed: dict[str, Any]) -> dict[str, Any]:
    """Per policy: the mean reward simulated and replayed with their 95 % intervals, the gap (replayed − simulated)
    with its interval (independent samples, normal approximation), and the optimality scores where defined."""
    halves = [(m["reward_ci95"][1] - m["reward_ci95"][0]) / 2 for m in (simulated, replayed)]
    gap = replayed["reward_mean"] - simulated["reward_mean"]
    half = math.hypot(*halves)
    return {
        "simulated": {"reward_mean": simulated["reward_mean"], "reward_ci95": simulated["reward_ci95"]},
        "replayed": {"reward_mean": replayed["reward_mean"], "reward_ci95": replayed["reward_ci95"]},
        "gap": {"mean": gap, "ci95": [gap - half, gap + half], "z": Z_95},
        "score": {"simulated": simulated.get("optimality_score"), "replayed": replayed.get("optimality_score")},
    }


def report_text(document: dict[str, Any]) -> str:
    lines = [
        "# Sim-to-real gap",
        "",
        f"`{document['data']}`: calibrated on its first {document['split_seconds']:.0f} s, replayed on the rest in "
        f"{document['replayed_sessions']} sessions (fill rule `{document['fill_rule']}`); simulated on "
        f"{document['simulated_episodes']} episodes of the calibrated market. Reward per session [price].",
        "",
        "| policy | simulated [95 % CI] | replayed [95 % CI] | gap (replayed − simulated) [95 % CI] | score sim / real |",
        "|---|---|---|---|---|",
    ]
    undecided = []
    for label, entry in document["policies"].items():
        sim, real, gap = entry["simulated"], entry["replayed"], entry["gap"]
        scores = " / ".join("—" if v is None else f"{v:.3f}" for v in entry["score"].values())
        lines.append(
            f"| `{label}` | {sim['reward_mean']:.4g} [{sim['reward_ci95'][0]:.4g}, {sim['reward_ci95'][1]:.4g}] | "
            f"{real['reward_mean']:.4g} [{real['reward_ci95'][0]:.4g}, {real['reward_ci95'][1]:.4g}] | "
            f"{gap['mean']:+.4g} [{gap['ci95'][0]:+.4g}, {gap['ci95'][1]:+.4g}] | {scores} |"
        )
        if gap["ci95"][0] <= 0.0 <= gap["ci95"][1]:
            undecided.append(label)
    lines.append("")
    if undecided:
        lines.append(
            f"Too short to conclude: for {', '.join(f'`{label}`' for label in undecided)} the gap's interval holds "
            f"zero ({document['replayed_sessions']} replayed sessions)."
        )
    lines += [*(f"Note: {note}." for note in document["notes"]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
