# %% [markdown]
# # Train a policy and read it against Avellaneda–Stoikov
#
# `train.train(config, run_dir)` is the library call under `python -m train`: the shipped recipe (PPO on the
# batched env, the variance-reduced reward), evaluated during training against the baselines on common episodes,
# everything written to a run folder with TensorBoard logs.
#
# Run it with `python examples/02_train_and_compare.py`: 2,000,000 env steps, the budget of `make demo` (a few
# minutes on 2 cores). `MM_EXAMPLE_QUICK=1` trains a few thousand steps only, to check that it runs; such a policy
# has learned next to nothing.

# %%
import os

from train import load_config, train
from train.trainer import new_run_dir

QUICK = os.environ.get("MM_EXAMPLE_QUICK") == "1"

# %% [markdown]
# ## The config
#
# `load_config(path, overrides)` reads a YAML config (`None`: the recipe's defaults) and applies `--set`-style
# overrides: a world field bare (`sigma=1`) or any dotted config key.

# %%
overrides = ["experiment=example", "evaluation.frequency=250000", "total_timesteps=2000000"]
if QUICK:  # one rollout of 8 markets, a small network, three baselines on 32 episodes
    overrides = [
        "experiment=example",
        "total_timesteps=1600",
        "env.num_envs=8",
        "checkpoint_frequency=1600",
        "evaluation.frequency=1600",
        "evaluation.episodes=32",
        "evaluation.baselines=[symmetric, avellaneda_stoikov, optimal]",
        "algorithm.policy_kwargs.net_arch=[16, 16]",
    ]
config = load_config(None, overrides)
print(f"PPO on the {config.world.preset!r} world, {config.total_timesteps:,} env steps")
print("compared against:", ", ".join(config.evaluation.baselines))

# %% [markdown]
# ## Training
#
# The run folder `runs/<experiment>/<run-id>/` holds the resolved config, the training world, checkpoints, the
# final model (`final/model.zip`), the evaluations and the final report.

# %%
result = train(config, new_run_dir(config))
print(f"trained {result.num_timesteps:,} env steps in {result.timing['wall_seconds']:.0f} s into {result.run_dir}")

# %% [markdown]
# ## Learned against Avellaneda–Stoikov
#
# The final evaluation scores every policy on the same episodes; `vs_avellaneda_stoikov` is the paired reward
# difference per episode, policy − A–S, with its bootstrap 95 % interval.

# %%
for label, metrics in result.document["policies"].items():
    score = metrics.get("optimality_score")
    line = f"{label:28s} reward_mean {metrics['reward_mean']:8.3f}"
    if score is not None:
        line += f"  optimality_score {score:.3f}"
    print(line)
versus = result.metrics["vs_avellaneda_stoikov"]
low, high = versus["ci95"]
print(f"learned − avellaneda_stoikov: {versus['mean']:+.3f} per episode, 95 % CI [{low:+.3f}, {high:+.3f}]")

# %% [markdown]
# ## In TensorBoard
#
# The event files are in the run folder's `tb/`. `eval/<metric>` holds the learned policy and each baseline as
# sibling runs, so their curves overlay (`eval/reward_mean`, `eval/optimality_score`); the Custom Scalars tab has a
# *learned vs baselines* layout, and the Images tab the quotes-vs-inventory figure (learned vs A–S vs optimal).

# %%
print(f"tensorboard --logdir {result.run_dir / 'tb'}")
