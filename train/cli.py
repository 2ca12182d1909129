"""``python -m train``: train a policy and compare it against the baselines in TensorBoard.

Exit codes: 0 done; 2 bad input (config, ``--set``, run folder, world), nothing trained; 1 a failure
during training (traceback printed, checkpoint saved); 130 interrupted (checkpoint saved).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from eval.run_folder import RunFolder
from eval.specs import parse_set
from train.config import DEVICES, ConfigError, load_config
from train.trainer import TrainingFailed, TrainResult, load_run_config, new_run_dir, train

FAILED = 1
BAD_INPUT = 2
INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--config", type=Path, help="experiment YAML (e.g. configs/default.yaml)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, dotted (total_timesteps=50000, algorithm.hyperparameters.n_epochs=5),\n"
        "or a world field, bare or dotted (sigma=1 or world.overrides.sigma=1), as in python -m eval",
    )
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument(
        "--seeds",
        metavar="SEEDS",
        help="train one run per seed (e.g. 0-9 or 0,3,7) under one parent folder, in parallel on Ray\n"
        "up to the cores, and end with a seed-aggregated table (needs the sweep extra)",
    )
    p.add_argument("--run-dir", type=Path, help="run folder (default runs/<experiment>/<time>-seed<seed>)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run from its last sound checkpoint")
    p.add_argument("--device", choices=DEVICES, help="torch device (default: the config's)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.seeds is not None:
            return train_seeds(args)
        if args.resume is not None:
            if args.config is not None or args.run_dir is not None or args.seed is not None:
                raise ConfigError("--resume takes the run's own config; do not pass --config, --run-dir or --seed")
            config, run_dir, resume = load_run_config(args.resume, args.set), args.resume, True
        else:
            if args.config is None:
                raise ConfigError("--config is required (or --resume RUN_DIR)")
            overrides = args.set + ([f"seed={args.seed}"] if args.seed is not None else [])
            config = load_config(args.config, overrides)
            run_dir, resume = args.run_dir or new_run_dir(config), False
        result = train(config, run_dir, resume=resume, device=args.device)
    except TrainingFailed as failure:
        traceback.print_exception(failure.__cause__, file=sys.stderr)
        print(f"\nerror: {failure}", file=sys.stderr)
        if failure.checkpoint is not None:
            print(f"checkpoint: {failure.checkpoint}", file=sys.stderr)
            print(f"resume with: python -m train --resume {failure.run_dir}", file=sys.stderr)
        return FAILED
    except ValueError as error:  # bad input, raised before any training (ConfigError included)
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    if result.status == "interrupted":
        print(f"\ninterrupted at step {result.num_timesteps:,}; checkpoint saved to {result.checkpoint}")
        print(f"resume with: python -m train --resume {result.run_dir}")
        return INTERRUPTED
    print_summary(result)
    return 0


def train_seeds(args: argparse.Namespace) -> int:
    """``--seeds``: a sweep of one configuration over the seeds, through ``train.sweep``'s runner."""
    from train.seeds import parse_seeds
    from train.sweep.cli import launch, record
    from train.sweep.spec import expand, spec_from_dict

    if args.config is None or args.resume is not None or args.seed is not None:
        raise ConfigError("--seeds needs --config and takes no --resume or --seed")
    seeds = parse_seeds(args.seeds)
    config = load_config(args.config, args.set)
    data = {"name": config.experiment, "base": str(args.config.absolute()), "overrides": parse_set(args.set)}
    spec = spec_from_dict({**data, "seeds": seeds}, Path.cwd())
    parent = (args.run_dir or new_run_dir(config, label="seeds")).absolute()
    if parent.exists():
        raise ConfigError(
            f"--run-dir {parent} already exists; to resume it: python -m train.sweep run --resume {parent}"
        )
    runs = expand(spec, parent)
    record(spec, parent, runs)
    return launch(spec, parent, runs, None, None)


def print_summary(result: TrainResult) -> None:
    timing = result.timing
    print(
        f"\ntrained {int(timing['env_steps']):,} env steps in {timing['wall_seconds']:.0f} s "
        f"({timing['env_steps_per_second']:,.0f} steps/s)"
    )
    for label, metrics in result.document["policies"].items():
        score = metrics.get("optimality_score")
        extra = f"  optimality score {score:.3f}" if score is not None else ""
        print(f"  {label:<28} reward {metrics['reward_mean']:9.3f} ± {metrics['reward_std']:.3f}{extra}")
    run = RunFolder(result.run_dir)
    print(f"report: {run.report / 'report.md'}")
    print(f"tensorboard --logdir {run.tensorboard}")


if __name__ == "__main__":
    sys.exit(main())
