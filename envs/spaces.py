"""Action and observation spaces, and the maps between normalized actions and quotes.

Action: ``Box([−1, 1]², float32)``, entry 0 the bid, entry 1 the ask. Each entry maps linearly onto
the world's offset range (``World.offset_range``, set or derived), ``δ = min_offset + (a + 1)/2 ·
(max_offset − min_offset)`` [price]; ``a = +1``
(the far end, where finite actions beyond the box are clipped) pulls that side. NaN or inf is an error.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.core import Quotes
from envs.observation import observation_bounds
from envs.world import World


def action_space(world: World) -> gym.spaces.Box:
    """``Box(−1, 1, (len(world.action_names),), float32)``: the world's action legs, normalized."""
    return gym.spaces.Box(-1.0, 1.0, shape=(len(world.action_names),), dtype=np.float32)


def observation_space(world: World) -> gym.spaces.Box:
    """Finite float32 box over ``world.observation_names``."""
    low, high = observation_bounds(world)
    return gym.spaces.Box(low, high, dtype=np.float32)


def action_to_quotes(world: World, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map actions of shape ``(..., 2)`` to ``(bid_offset, ask_offset, bid_quoted, ask_quoted)``.

    Offsets are in price units; finite actions outside [−1, 1] are clipped; NaN or inf raises
    ``ValueError``.
    """
    quotes = action_quotes(world, np.asarray(action, dtype=np.float64).reshape(-1, 2))
    shape = np.shape(action)[:-1]
    offset, quoted = quotes.offset.reshape(*shape, 2), quotes.quoted.reshape(*shape, 2)
    return offset[..., 0], offset[..., 1], quoted[..., 0], quoted[..., 1]


def action_quotes(world: World, action: np.ndarray) -> Quotes:
    """The core's ``Quotes`` from a batch of actions ``(n, 2)``; see ``action_to_quotes``."""
    action = np.asarray(action, dtype=np.float64)
    if action.ndim != 2 or action.shape[1] != 2:
        raise ValueError(f"action must have a last dimension of 2 (bid, ask); got shape {action.shape}")
    if not np.isfinite(action).all():
        raise ValueError(
            "action must be finite (no NaN or inf); accepted: values in [-1, 1], finite values outside are clipped"
        )
    action = np.clip(action, -1.0, 1.0)
    low, high = world.offset_range
    return Quotes(low + (0.5 * (high - low)) * (action + 1.0), action < 1.0)


def quotes_to_action(world: World, bid_offset: np.ndarray, ask_offset: np.ndarray) -> np.ndarray:
    """Inverse of ``action_to_quotes``: offsets [price] to float32 actions of shape ``(..., 2)``.

    An offset of ``+inf`` (or at least ``max_offset``) pulls the side; offsets below ``min_offset``
    are clipped to it.
    """
    offsets = np.stack(np.broadcast_arrays(np.asarray(bid_offset, float), np.asarray(ask_offset, float)), axis=-1)
    low, high = world.offset_range
    offsets = np.minimum(offsets, high)  # +inf (pulled) maps to +1
    action = 2.0 * (offsets - low) / (high - low) - 1.0
    return np.clip(action, -1.0, 1.0).astype(np.float32)
