"""``python -m train.sim_to_real DATA --out DIR``: the whole loop on a capture. Calibrate a market on the tape's first
part (``eval.sim_to_real``), train the shipped recipe on it (``DIR/run``), then score the learned policy and the
ladder in the calibrated simulator and on the held-out recorded flow (``DIR/gap/report.md``).

Exit codes: 0 done; 2 bad input; 1 a failure during training (its checkpoint kept, as ``python -m train``).
"""

from __future__ import annotations

import argparse
import sys

import yaml

from eval import sim_to_real
from eval.files import atomic_write_text
from train.config import ConfigError, load_config
from train.trainer import TrainingFailed, train


def parser() -> argparse.ArgumentParser:
    p = sim_to_real.parser()
    p.prog = "python -m train.sim_to_real"
    p.description = __doc__.split("\n\n")[0]
    p.add_argument("--timesteps", type=int, default=4_000_000, help="training steps (default: the recipe's 4 M)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a training config key")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        _, _, fitted = sim_to_real.split_calibration(args)
        market_file = args.out / "market.yaml"
        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(market_file, yaml.safe_dump({"market": fitted.market.document()}, sort_keys=False))
        config = load_config(
            None,
            [
                f"world.file={market_file}",
                f"total_timesteps={args.timesteps}",
                f"seed={args.seed}",
                f"experiment=sim_to_real_{args.data.stem}",
                "evaluation.baselines=[symmetric,avellaneda_stoikov,optimal]",
                *args.set,
            ],
        )
    except (ValueError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return sim_to_real.BAD_INPUT
    run_dir = args.out / "run"
    try:
        train(config, run_dir)
    except TrainingFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    policies = args.policy or list(sim_to_real.POLICIES)
    forwarded = [
        str(args.data),
        "--out",
        str(args.out / "gap"),
        *(f"--{name.replace('_', '-')}={getattr(args, name)}" for name in FORWARDED),
        *(f"--{name}={getattr(args, name)}" for name in OPTIONAL if getattr(args, name) is not None),
        *(item for text in [f"run:{run_dir}", *policies] for item in ("--policy", text)),
    ]
    return sim_to_real.main(forwarded)


FORWARDED = (
    "split",
    "time_unit",
    "horizon",
    "dt",
    "risk_aversion",
    "episodes",
    "fill_rule",
    "at_quote_probability",
    "seed",
)
OPTIONAL = ("tick",)  # forwarded where given


if __name__ == "__main__":
    sys.exit(main())
