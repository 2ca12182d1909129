"""``python -m train``: train a policy and compare it against the baselines in TensorBoard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.config import DEVICES, ConfigError, load_config
from train.trainer import load_run_config, new_run_dir, train


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__)
    p.add_argument("--config", type=Path, help="experiment YAML (e.g. configs/default.yaml)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, dotted (e.g. total_timesteps=50000, algorithm.hyperparameters.n_epochs=5)",
    )
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--run-dir", type=Path, help="run folder (default runs/<experiment>/<time>-seed<seed>)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--device", choices=DEVICES, help="torch device (default: the config's)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.resume is not None:
            if args.config is not None or args.run_dir is not None or args.seed is not None:
                raise ConfigError("--resume takes the run's own config; do not pass --config, --run-dir or --seed")
            config = load_run_config(args.resume, args.set)
            return train(config, args.resume, resume=True, device=args.device)
        if args.config is None:
            raise ConfigError("--config is required (or --resume RUN_DIR)")
        overrides = args.set + ([f"seed={args.seed}"] if args.seed is not None else [])
        config = load_config(args.config, overrides)
        run_dir = args.run_dir or new_run_dir(config)
        if run_dir.exists():
            raise ConfigError(f"--run-dir {run_dir} already exists; pick a new folder or --resume it")
        return train(config, run_dir, device=args.device)
    except ValueError as error:  # ConfigError included
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
