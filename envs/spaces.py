"""Action and observation spaces, and the maps between normalized actions and quotes.

Action: ``Box([−1, 1]², float32)``, entry 0 the bid, entry 1 the ask. Each entry maps linearly onto
the world's offset range, ``δ = min_offset + (a + 1)/2 · (max_offset − min_offset)`` [price]; ``a = +1``
(the far end, where finite actions beyond the box are clipped) pulls that side. NaN or inf is an error.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.core import MarketState, observation_bounds, observe
from envs.world import World


def action_space() -> gym.spaces.Box:
    """``Box(−1, 1, (2,), float32)``: normalized bid and ask offsets."""
    return gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


def observation_space(world: World) -> gym.spaces.Box:
    """Finite float32 box over ``world.observation_names``."""
    low, high = observation_bounds(world)
    return gym.spaces.Box(low, high, dtype=np.float32)


def action_to_quotes(world: World, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map actions of shape ``(..., 2)`` to ``(bid_offset, ask_offset, bid_quoted, ask_quoted)``.

    Offsets are in price units; finite actions outside [−1, 1] are clipped; NaN or inf raises
    ``ValueError``.
    """
    action = np.asarray(action, dtype=np.float64)
    if action.shape[-1:] != (2,):
        raise ValueError(f"action must have a last dimension of 2 (bid, ask); got shape {action.shape}")
    if not np.isfinite(action).all():
        raise ValueError(
            "action must be finite (no NaN or inf); accepted: values in [-1, 1], finite values outside are clipped"
        )
    action = np.minimum(np.maximum(action, -1.0), 1.0)
    offsets = world.min_offset + 0.5 * (action + 1.0) * (world.max_offset - world.min_offset)
    quoted = action < 1.0
    return offsets[..., 0], offsets[..., 1], quoted[..., 0], quoted[..., 1]


def quotes_to_action(world: World, bid_offset: np.ndarray, ask_offset: np.ndarray) -> np.ndarray:
    """Inverse of ``action_to_quotes``: offsets [price] to float32 actions of shape ``(..., 2)``.

    An offset of ``+inf`` (or at least ``max_offset``) pulls the side; offsets below ``min_offset``
    are clipped to it.
    """
    offsets = np.stack(np.broadcast_arrays(np.asarray(bid_offset, float), np.asarray(ask_offset, float)), axis=-1)
    offsets = np.minimum(offsets, world.max_offset)  # +inf (pulled) maps to +1
    action = 2.0 * (offsets - world.min_offset) / (world.max_offset - world.min_offset) - 1.0
    return np.clip(action, -1.0, 1.0).astype(np.float32)


def decode_observation(world: World, observation: np.ndarray) -> dict[str, np.ndarray]:
    """Recover the state a policy may see from a batch of observations ``(n, obs_dim)``.

    Returns ``inventory`` [lots, int64], ``time_to_close`` = T − t [time] and ``volatility``
    [price/√time]: the same information the learned policy gets.
    """
    observation = np.asarray(observation, dtype=np.float64)
    if observation.ndim != 2 or observation.shape[1] != len(world.observation_names):
        raise ValueError(f"observation must have shape (n, {len(world.observation_names)}); got {observation.shape}")
    steps_left = np.rint(observation[:, 1] * world.n_steps).astype(np.int64)
    return {
        "inventory": np.rint(observation[:, 0] * world.max_inventory).astype(np.int64),
        "time_to_close": steps_left * world.dt,
        "volatility": world.sigma_levels[world.regime_of(observation[:, 2] * world.max_sigma)],
    }


def observation_at(
    world: World, inventory: np.ndarray, steps_left: np.ndarray, regime: np.ndarray | int = 0
) -> np.ndarray:
    """Observations of markets in given states with no history (extra features at zero), through the
    env's own ``observe``: for plotting a policy's quotes over a grid of states."""
    inventory, steps_left, regime = np.broadcast_arrays(
        np.asarray(inventory), np.asarray(steps_left), np.asarray(regime)
    )
    n = inventory.size
    zeros, counts = np.zeros(n), np.zeros(n, dtype=np.int64)
    state = MarketState(
        mid=zeros,
        cash=zeros,
        inventory=inventory.ravel().astype(np.int64),
        step=world.n_steps - steps_left.ravel().astype(np.int64),
        regime=regime.ravel().astype(np.int64),
        key=np.zeros(n, dtype=np.uint64),
        episode=np.zeros(n, dtype=np.uint64),
        mid_return=zeros,
        bid_filled=counts,
        ask_filled=counts,
        fill_imbalance=zeros,
    )
    return observe(world, state)
