"""``python -m eval``: paired evaluation of learned and classic policies in one or more worlds.

Exit codes: 0 done; 2 bad input (a world, ``--set``, policy spec, run folder or output folder), checked
before any evaluation; 1 a failure during the evaluation (traceback printed); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from baselines import list_policies
from envs import list_presets
from envs.presets import MARKET_PRESETS, make_market, read_market_file, resolve_any
from envs.rollout import rollout
from eval.evaluate import build_baselines, build_policy, ladder
from eval.metrics import DEFAULT_RISK_AVERSION
from eval.replay import check_replay_arguments, replay_arguments, replay_runner, replay_units, session_flow
from eval.run import Job, check_writable, evaluate_and_publish
from eval.scenarios import SCENARIOS, scenario_jobs
from eval.specs import parse_set, parse_spec, world_overrides
from eval.tape import read_tape

DEFAULT_POLICIES = ("symmetric", "linear_skew", "avellaneda_stoikov", "optimal")
# One scenario per multi-asset preset: its ladder (``eval.evaluate.ladder``) on paired episodes.
MARKET_SCENARIOS = tuple(MARKET_PRESETS)
# A reproduction's own strategies and number of paths: BEGV 2021 §6 compares its optimal and closed-form quotes over
# 4,000 Monte-Carlo paths.
REPRODUCTIONS = {"begv2021": (("closed_form", "optimal"), 4000)}
DEFAULT_EPISODES = 1000
BAD_INPUT = 2
INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval",
        description=__doc__,
        epilog="Model files are pickles: load only files from sources you trust.",
    )
    p.add_argument("--world", action="append", metavar="PRESET", help="world preset (repeatable: robustness matrix)")
    p.add_argument(
        "--world-file",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="a market file (YAML, e.g. from python -m eval.calibrate) to evaluate in (repeatable)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a world field, bare or dotted (sigma=1 or world.overrides.sigma=1), as in python -m train",
    )
    p.add_argument(
        "--policy",
        action="append",
        metavar="SPEC",
        help="NAME[:key=value,...] or run:PATH (repeatable; default: " + ", ".join(DEFAULT_POLICIES) + ")",
    )
    p.add_argument(
        "--scenario",
        choices=SCENARIOS + MARKET_SCENARIOS,
        help="a named reproduction instead of --world/--policy (a multi-asset preset: its ladder, with --policy run:PATH for runs trained on that market)",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="DATA",
        help="replay the policies on recorded flow (eval.tape) instead of simulating, in each --world-file market "
        "(calibrated by python -m eval.calibrate): one episode per session of the market's horizon",
    )
    replay_arguments(p)
    p.add_argument(
        "--episodes",
        type=int,
        help=f"episodes per policy (default {DEFAULT_EPISODES}; a reproduction's own: "
        + ", ".join(f"{name} {paths:,}" for name, (_, paths) in REPRODUCTIONS.items())
        + ")",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of episode 0; episode i uses seed + i (default 0)")
    p.add_argument(
        "--risk-aversion",
        type=float,
        default=DEFAULT_RISK_AVERSION,
        help=f"CARA γ of the certainty equivalent (default {DEFAULT_RISK_AVERSION})",
    )
    p.add_argument("--out", type=Path, help="output folder (default reports/<scenario or world>)")
    p.add_argument("--device", default="cpu", help="torch device for learned policies (default cpu)")
    p.add_argument("--list", action="store_true", help="print the presets and policies, then exit")
    return p


def print_catalogue() -> None:
    print("presets (one asset):", ", ".join(list_presets()))
    print("presets (markets of several assets or informed flow; also --scenario NAME):", ", ".join(MARKET_SCENARIOS))
    print("policies (NAME[:key=value,...]):")
    for name, params in list_policies().items():
        described = (
            ", ".join(f"{key}={spec['default']} ({spec['type']})" for key, spec in params.items()) or "no parameters"
        )
        print(f"  {name}: {described}")
    print("  run:PATH: a trained run folder or model file")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        print_catalogue()
        return 0
    try:
        out, jobs, title = prepare(args)
        check_writable(out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    try:
        evaluate_and_publish(out, jobs, args.episodes, args.seed, args.risk_aversion, title)
        if args.scenario in MARKET_SCENARIOS:  # elsewhere build_baselines has warned
            for note in jobs[0].notes:
                print(note, file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\ninterrupted; nothing was written to {out}", file=sys.stderr)
        return INTERRUPTED
    print(f"report: {out / 'report.md'}")
    print(f"metrics: {out / 'metrics.json'}")
    print(f"tensorboard --logdir {out / 'tb'}")
    return 0


def market_job(args: argparse.Namespace) -> Job:
    """A multi-asset preset's ladder, with the learned policies of ``--policy run:PATH`` first; a baseline the
    market cannot hold is left out, its reason a note."""
    if args.world or args.set:
        raise ValueError("--scenario takes no --world or --set")
    specs = [parse_spec(text) for text in args.policy or ()]
    other = next((spec.text for spec in specs if spec.name != "run"), None)
    if other is not None:
        raise ValueError(f"--policy {other}: a market scenario evaluates its own ladder and run:PATH policies only")
    market = make_market(args.scenario)
    strategies = REPRODUCTIONS[args.scenario][0] if args.scenario in REPRODUCTIONS else ladder(market)
    baselines, notes = build_baselines(market, strategies, warn=False)
    learned = {spec.text: (spec, build_policy(spec, market, args.device)) for spec in specs}
    return Job(args.scenario, market, {**learned, **baselines}, tuple(notes))


def prepare(args: argparse.Namespace) -> tuple[Path, list[Job], str]:
    """Validate every input and build every policy; ``ValueError`` names the bad one."""
    if args.episodes is None:
        args.episodes = REPRODUCTIONS[args.scenario][1] if args.scenario in REPRODUCTIONS else DEFAULT_EPISODES
    if args.episodes < 1:
        raise ValueError(f"--episodes must be ≥ 1; got {args.episodes}")
    if not args.risk_aversion > 0:
        raise ValueError(f"--risk-aversion must be > 0; got {args.risk_aversion}")
    check_replay_arguments(args)
    if args.scenario:
        out, title = args.out or Path("reports") / args.scenario, f"Scenario `{args.scenario}`"
        if args.scenario in MARKET_SCENARIOS:
            return out, [market_job(args)], title
        if args.world or args.world_file or args.policy or args.set:
            raise ValueError("--scenario takes no --world, --world-file, --set or --policy")
        return out, scenario_jobs(args.scenario, args.episodes, args.seed), title
    overrides = world_overrides(parse_set(args.set))
    specs = [parse_spec(text) for text in (args.policy or DEFAULT_POLICIES)]
    if len({spec.text for spec in specs}) != len(specs):
        raise ValueError("--policy: each spec may be given once")
    if args.world_file and overrides:
        raise ValueError("--set overrides a preset's fields; edit the market file given by --world-file instead")
    worlds = [
        (preset + "".join(f"[{k}={v}]" for k, v in overrides.items()), resolve_any(preset, **overrides))
        for preset in args.world or ([] if args.world_file else ["default"])
    ]
    worlds += [(path.stem, read_market_file(path)) for path in args.world_file]
    runners, replay = [rollout] * len(worlds), None
    if args.replay is not None:
        if args.world or not args.world_file:
            raise ValueError("--replay needs --world-file markets (calibrated from data) and no --world preset")
        tape = read_tape(args.replay)
        flows = [
            session_flow(tape, world, *replay_units(path), seed=args.seed, tick=args.tick)
            for (_, world), path in zip(worlds, args.world_file, strict=True)
        ]
        if len({flow.sessions for flow in flows}) != 1:
            raise ValueError("--replay: the market files cut the tape into different numbers of sessions")
        args.episodes = flows[0].sessions
        runners = [replay_runner(flow, args.fill_rule, args.at_quote_probability) for flow in flows]
        replay = {
            "data": str(args.replay),
            "sessions": flows[0].sessions,
            "fill_rule": args.fill_rule,
            "at_quote_probability": args.at_quote_probability if args.fill_rule == "at_quote" else None,
            "tick": flows[0].tick,
        }
    jobs = []
    for (label, world), runner in zip(worlds, runners, strict=True):
        baselines, notes = build_baselines(world, [spec.text for spec in specs if spec.name != "run"])
        policies = {}
        for spec in specs:  # in command-line order
            if spec.name == "run":
                policies[spec.text] = (spec, build_policy(spec, world, args.device))
            elif spec.text in baselines:
                policies[spec.text] = baselines[spec.text]
        jobs.append(Job(label, world, policies, tuple(notes), runner, replay))
    names = [*(args.world or []), *(path.stem for path in args.world_file)] or ["default"]
    return args.out or Path("reports") / "-".join(names), jobs, "Evaluation"


if __name__ == "__main__":
    sys.exit(main())
