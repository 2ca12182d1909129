# %% [markdown]
# # The environment and a baseline
#
# A world (a preset, or any fields of your own), the Gymnasium env and its native vector env, and two classic
# quoting policies, symmetric and Avellaneda–Stoikov, scored on common random numbers against the exact optimum.
#
# Run it with `python examples/01_env_and_baseline.py` (`MM_EXAMPLE_QUICK=1` for a few episodes), or open it as a
# notebook with jupytext (`jupytext --to notebook examples/01_env_and_baseline.py`).

# %%
import os

import gymnasium as gym
import numpy as np

import envs  # registers mm_inventory/MarketMaking-v0
from baselines import make_policy
from eval import build_policy, evaluate_policies, parse_spec

QUICK = os.environ.get("MM_EXAMPLE_QUICK") == "1"
EPISODES = 50 if QUICK else 2000

# %% [markdown]
# ## A world
#
# `make_world(preset, **fields)` builds a frozen, validated `World`; a bad field raises `ValueError` naming it.
# The offset range and the observation's units are derived from the world's own physics when left unset.

# %%
world = envs.make_world("default")
print("presets:", ", ".join(envs.list_presets()))
print(
    f"default world: σ = {world.sigma}, A = {world.arrival_intensity}, k = {world.fill_decay}, Q = {world.max_inventory}"
)
print("observation:", world.observation_names, "actions:", world.action_names)

# %% [markdown]
# ## The Gymnasium env: one market
#
# One episode by hand, quoting with Avellaneda–Stoikov (γ = 0.1). A baseline acts on the same observations the
# learner sees, through SB3's `predict`.

# %%
env = gym.make("mm_inventory/MarketMaking-v0", world=world)
avellaneda_stoikov = make_policy("avellaneda_stoikov", world, risk_aversion=0.1)
observation, info = env.reset(seed=0)
episode_reward, terminated, truncated = 0.0, False, False
while not (terminated or truncated):
    action, _ = avellaneda_stoikov.predict(observation, deterministic=True)
    observation, reward, terminated, truncated, info = env.step(action)
    episode_reward += reward
print(f"one episode of avellaneda_stoikov: reward {episode_reward:.3f}, final inventory {info['inventory']}")

# %% [markdown]
# ## The native vector env: many markets in one numpy step
#
# Market `i` of a vector env seeded `s` is exactly a single env seeded `s + i`.

# %%
markets = 8 if QUICK else 1000
vector_env = gym.make_vec("mm_inventory/MarketMaking-v0", num_envs=markets, world=world)
observations, _ = vector_env.reset(seed=0)
returns = np.zeros(markets)
for _ in range(world.n_steps):
    actions, _ = avellaneda_stoikov.predict(observations, deterministic=True)
    observations, rewards, terminated, truncated, _ = vector_env.step(actions)
    returns += rewards
print(f"{markets} markets, one session each: mean reward {returns.mean():.3f}")

# %% [markdown]
# ## Paired evaluation
#
# `evaluate_policies` runs every policy on the same episodes and adds the optimality score,
# `(J − J_symmetric) / (J_optimal − J_symmetric)`: 0 is symmetric quoting, 1 the exact optimum.

# %%
specs = ["symmetric", "avellaneda_stoikov:risk_aversion=0.1", "optimal"]
policies = {text: (spec, build_policy(spec, world)) for text, spec in ((t, parse_spec(t)) for t in specs)}
results = evaluate_policies(world, policies, EPISODES, seed=0)
print(f"{EPISODES} paired episodes")
for text, result in results.items():
    metrics = result.metrics
    print(
        f"{text:38s} reward_mean {metrics['reward_mean']:8.3f}  optimality_score {metrics['optimality_score']:.3f}"
        f"  mean_abs_inventory {metrics['mean_abs_inventory']:.2f}"
    )
