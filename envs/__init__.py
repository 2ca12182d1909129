"""mm-inventory's market: the world, the batched core and its Gymnasium and SB3 adapters.

Importing registers ``mm_inventory/MarketMaking-v0`` (single env and ``vector_entry_point``) for every market: a
single-asset world or a ``Market`` of any number of assets (``envs.gym_env``, ``envs.vector_env``), by the
``world`` keyword (``envs.registration``).
"""

from gymnasium.envs.registration import register, registry

from envs import core
from envs.batch import REWARD_VARIANTS, BatchStep, Finished, MarketBatch, market_keys
from envs.close_starts import (
    CLOSE_INVENTORIES,
    CLOSE_INVENTORY,
    CLOSE_WINDOW,
    check_close_starts,
    close_start_probability,
)
from envs.core import (
    clip_trade,
    fill_probability,
    round_to_lot,
    trade_cost,
)
from envs.gym_env import MarketMakingEnv
from envs.interface import Interface, derived_interface, interface_of, natural_scales
from envs.market import Asset, Flow, HedgeInstrument, Market, Penalty, Regimes
from envs.observation import (
    ENTRIES,
    decode_observation,
    decoded_state,
    nearest_regime,
    observation_at,
    observation_names,
    observe,
    regime_sigmas,
    translate_observation,
)
from envs.presets import PRESETS, list_presets, make_world, resolve_world
from envs.registration import ENV_ID, REMOVED_DEALER_ID
from envs.spaces import (
    action_names,
    action_ranges,
    action_space,
    action_to_hedge,
    action_to_quotes,
    observation_space,
    quote_leg_assets,
    quotes_to_action,
)
from envs.vector_env import MarketMakingVectorEnv
from envs.world import World, field_names, world_of_market

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="envs.registration:make_env",
        vector_entry_point="envs.registration:make_vector_env",
        order_enforce=False,  # the env refuses a step before reset itself: no second check wrapped around each step
    )
if REMOVED_DEALER_ID not in registry:
    register(id=REMOVED_DEALER_ID, entry_point="envs.registration:removed_dealer_env")


def __getattr__(name: str):
    # The SB3 adapter imports torch through stable-baselines3; load it only when asked for.
    if name == "MarketMakingVecEnv":
        from envs import sb3_vec_env

        return getattr(sb3_vec_env, name)
    raise AttributeError(f"module 'envs' has no attribute {name!r}")


__all__ = [
    "CLOSE_INVENTORIES",
    "CLOSE_INVENTORY",
    "CLOSE_WINDOW",
    "ENTRIES",
    "ENV_ID",
    "BatchStep",
    "Finished",
    "natural_scales",
    "Interface",
    "action_names",
    "derived_interface",
    "interface_of",
    "observation_names",
    "Asset",
    "HedgeInstrument",
    "Market",
    "Penalty",
    "Regimes",
    "Flow",
    "observe",
    "translate_observation",
    "PRESETS",
    "REWARD_VARIANTS",
    "MarketBatch",
    "MarketMakingEnv",
    "MarketMakingVecEnv",
    "MarketMakingVectorEnv",
    "World",
    "action_ranges",
    "action_space",
    "action_to_hedge",
    "action_to_quotes",
    "check_close_starts",
    "close_start_probability",
    "core",
    "decode_observation",
    "decoded_state",
    "field_names",
    "clip_trade",
    "fill_probability",
    "list_presets",
    "make_world",
    "market_keys",
    "nearest_regime",
    "observation_at",
    "observation_space",
    "quote_leg_assets",
    "quotes_to_action",
    "regime_sigmas",
    "resolve_world",
    "round_to_lot",
    "trade_cost",
    "world_of_market",
]
