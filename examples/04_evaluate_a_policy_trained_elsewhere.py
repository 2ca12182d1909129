# %% [markdown]
# # Evaluate a policy trained elsewhere
#
# Any stable-baselines3 model file whose observations and actions are the env's evaluates against the baselines:
# `python -m eval --policy run:model.zip` (a run folder of `python -m train` works the same way). Here the model is
# trained "elsewhere": a plain SB3 PPO on the SB3 `VecEnv` of the default world, outside `python -m train`.
#
# Run it with `python examples/04_evaluate_a_policy_trained_elsewhere.py` (`MM_EXAMPLE_QUICK=1` for a tiny
# budget). Model files are pickles: load only files from sources you trust.

# %%
import json
import os
import subprocess
import sys
from pathlib import Path

from stable_baselines3 import PPO

import envs
from envs import MarketMakingVecEnv
from eval import build_policy, evaluate_policies, load_learned, parse_spec

QUICK = os.environ.get("MM_EXAMPLE_QUICK") == "1"
STEPS = 2_048 if QUICK else 1_000_000
EPISODES = 50 if QUICK else 2000
OUT = Path("runs") / "examples" / "elsewhere"

# %% [markdown]
# ## A model from somewhere else
#
# A bare model file carries no record of its world, so it is taken to have been trained in the world you evaluate
# it in; its observation must have that world's layout (a run folder of `python -m train` records its world, and a
# policy trained in one world quotes the same prices when evaluated in another).

# %%
world = envs.make_world("default")
model = PPO("MlpPolicy", MarketMakingVecEnv(16, world=world), n_steps=128, batch_size=256, seed=0, verbose=0)
model.learn(total_timesteps=STEPS)
OUT.mkdir(parents=True, exist_ok=True)
model.save(OUT / "model.zip")
print(f"saved {OUT / 'model.zip'} after {model.num_timesteps:,} env steps")

# %% [markdown]
# ## From the command line
#
# `--out` receives `metrics.json`, `report.md`, plots and TensorBoard logs; bad input (a missing or corrupted
# model, a model with another observation layout) exits with code 2 and names the problem.

# %%
command = [
    *(sys.executable, "-m", "eval", "--world", "default"),
    *("--policy", f"run:{OUT / 'model.zip'}", "--policy", "avellaneda_stoikov:risk_aversion=0.1"),
    *("--episodes", str(EPISODES), "--out", str(OUT / "report")),
]
print("$ python -m eval " + " ".join(command[3:]))
subprocess.run(command, check=True)
document = json.loads((OUT / "report" / "metrics.json").read_text())
for spec, metrics in document["policies"].items():
    print(f"{spec:38s} reward_mean {metrics['reward_mean']:8.3f}")

# %% [markdown]
# ## From Python
#
# `load_learned(path, world)` gives the same policy object the command builds; it acts through SB3's `predict`
# like every baseline, so `evaluate_policies` scores it on the same episodes as the others.

# %%
learned = load_learned(OUT / "model.zip", world)
policies = {"learned": (parse_spec(f"run:{OUT / 'model.zip'}"), learned)}
for text in ("symmetric", "avellaneda_stoikov:risk_aversion=0.1", "optimal"):
    policies[text] = (parse_spec(text), build_policy(parse_spec(text), world))
results = evaluate_policies(world, policies, EPISODES, seed=0)
for text, result in results.items():
    print(f"{text:38s} optimality_score {result.metrics['optimality_score']:6.3f}")
