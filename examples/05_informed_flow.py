# %% [markdown]
# # Informed flow: a hidden state, the maker's belief and the value of information
#
# A market whose flow is sometimes informed: a hidden state (sellers informed, uninformed, buyers informed) tilts the
# requests and drifts the mid. The maker sees the public prints and the mid's moves; its Bayesian filter turns them
# into a belief. The exact optimum over that belief is the ceiling, the optimum of a maker told the state the bound.
#
# Run it with `python examples/05_informed_flow.py` (`MM_EXAMPLE_QUICK=1` for a few episodes and a coarse
# belief grid), or open it as a notebook with jupytext (`jupytext --to notebook examples/05_informed_flow.py`).

# %%
import os

import numpy as np

from envs import MarketBatch
from envs.presets import make_market
from eval import evaluate_policies
from eval.evaluate import build_baselines

QUICK = os.environ.get("MM_EXAMPLE_QUICK") == "1"
EPISODES = 64 if QUICK else 2000

# %% [markdown]
# ## The market
#
# `informed_flow` is the default market with a flow state: requests arrive at `λ_b·(1 − ζz)` and `λ_a·(1 + ζz)`
# and the mid drifts `μ·z` in state z. (The quick run coarsens the step to keep it short.)

# %%
market = make_market("informed_flow", **({"dt": 0.02} if QUICK else {}))
flow = market.flow
print(f"flow states z = {flow.directions}, imbalance ζ = {flow.imbalance}, drift μ = {flow.drift} a unit time")
print("opening law of the state:", np.round(market.stationary_flow_distribution, 3))

# %% [markdown]
# ## The maker's belief
#
# A batch of books tracking the filter's belief (`track_belief`): how often its most likely state is the hidden one.

# %%
books = 256
batch = MarketBatch(market, books, autoreset=False, track_belief=True)
batch.reset(seed=0)
hits = []
for _ in range(market.n_steps):
    batch.step(np.zeros((books, 2), dtype=np.float32))
    hits.append(np.mean(batch.state.belief.argmax(axis=0) == batch.state.flow))
print(f"the belief's most likely state is the hidden one {np.mean(hits):.0%} of the time")

# %% [markdown]
# ## The ladder, the ceiling and the bound
#
# The flow market's ladder: the rungs blind to the flow, the filter feeding the closed form, the belief optimum and
# the full-information bound, on the same episodes.

# %%
specs = ["symmetric", "closed_form", "filtered_closed_form", "optimal", "full_information"]
policies, notes = build_baselines(market, specs)
results = evaluate_policies(market, policies, EPISODES, seed=0)
for text, result in results.items():
    metrics = result.metrics
    print(f"{text:22s} reward_mean {metrics['reward_mean']:8.3f}  optimality_score {metrics['optimality_score']:.3f}")
optimum, bound = policies["optimal"][1], policies["full_information"][1]
print(f"exact values: optimal {optimum.expected_reward():.3f}, full_information {bound.expected_reward():.3f}")
print(f"value of information: {bound.expected_reward() - optimum.expected_reward():.3f} a session")
