# %% [markdown]
# # Bring your own world
#
# A world is physics you set field by field; everything the agent sees (the offset range, the observation's units
# and features) is derived from it. The same goes for a market of several correlated assets, with hedge-only
# instruments, volatility regimes and a penalty on the book's risk. The docs' field tables list every field with
# its unit.
#
# Run it with `python examples/03_bring_your_own_world.py` (`MM_EXAMPLE_QUICK=1` for a few episodes).

# %%
import os

import gymnasium as gym

import envs
from envs import Asset, HedgeInstrument, Market, Penalty, Regimes
from envs.presets import make_market
from eval import build_policy, evaluate_policies, parse_spec

QUICK = os.environ.get("MM_EXAMPLE_QUICK") == "1"
EPISODES = 50 if QUICK else 2000

# %% [markdown]
# ## One asset: a preset with fields overridden
#
# A thin, volatile book with a tight limit, a fee and adverse selection. Every field is validated: a bad one
# raises `ValueError` naming it and what it accepts.

# %%
world = envs.make_world(
    "default",
    sigma=0.5,
    arrival_intensity=40.0,
    fill_decay=3.0,
    max_inventory=5,
    fee=0.02,
    adverse_jump=0.05,
    running_penalty=0.5,
    terminal_penalty=2.0,
)
low, high = world.offset_range
print(f"derived: offsets from {low:.2f} to {high:.2f} [price], inventory unit {world.inventory_unit:.2f} lots")
try:
    envs.make_world("default", sell_share=1.5)
except ValueError as error:
    print(f"a bad field is named: {error}")

# %%
specs = ["symmetric", "linear_skew_calibrated", "avellaneda_stoikov:risk_aversion=0.1", "optimal"]
policies = {text: (spec, build_policy(spec, world)) for text, spec in ((t, parse_spec(t)) for t in specs)}
results = evaluate_policies(world, policies, EPISODES, seed=0)
for text, result in results.items():
    print(f"{text:38s} optimality_score {result.metrics['optimality_score']:6.3f}")

# %% [markdown]
# The same world trains from the command line with its fields as `--set`s:
# `python -m train --config configs/default.yaml --set sigma=0.5 --set arrival_intensity=40 ...`.
#
# ## Several assets: a `Market`
#
# Two correlated assets with volatility regimes and a fee, and an index the dealer trades but never quotes. The
# penalty is one form on the whole book's risk, `φ·xᵀRx` with `R = Σ/σ₁²`.

# %%
market = Market(
    assets=(Asset(sigma=2.0, fee=0.01), Asset(sigma=1.0, fee=0.01)),
    hedges=(HedgeInstrument(sigma=1.5, spread_cost=0.02, max_trade=2, max_position=10),),
    correlation=((1.0, 0.5, 0.8), (0.5, 1.0, 0.8), (0.8, 0.8, 1.0)),
    regimes=Regimes(scales=(0.5, 2.0), switch_rates=((-2.0, 2.0), (4.0, -4.0))),
    penalty=Penalty(running=1.0, terminal=0.5, volatility_scaled=True),
)
book = gym.make("mm_inventory/MarketMaking-v0", world=market)
observation, _ = book.reset(seed=0)
print(f"a market of {market.n_assets} assets and {len(market.hedges)} hedge: observation {observation.shape},")
print(f"  actions {book.action_space.shape} (each asset's bid, each asset's ask, then the hedge trade)")

# %% [markdown]
# A multi-asset preset with fields overridden (`make_market` builds any preset, one asset or many), and its
# baseline ladder on common episodes: the closed form leans on the other asset's inventory, `per_asset` does not.

# %%
two_assets = make_market("two_assets", horizon=0.5)
names = ("symmetric", "per_asset", "closed_form", "optimal")
ladder = {name: (parse_spec(name), build_policy(parse_spec(name), two_assets)) for name in names}
scores = evaluate_policies(two_assets, ladder, EPISODES, seed=0)
for name, metrics in ((name, result.metrics) for name, result in scores.items()):
    print(f"{name:12s} reward_mean {metrics['reward_mean']:8.3f}  optimality_score {metrics['optimality_score']:6.3f}")
