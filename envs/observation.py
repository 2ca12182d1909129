"""The observation layout, as one table read by the env, its bounds, decoding, plots and docs.

Each entry is a raw quantity in natural units divided by a scale the world owns: ``observation =
raw / scale``. Decoding multiplies back, so a policy trained in one world can be shown the states of
another in its own training world's units (``translate_observation``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from envs.core import MarketState
from envs.world import World

# Bound on the observed last mid return, in units of the largest regime's σ√dt.
MID_RETURN_BOUND = 10.0


def regime_sigma(world: World, regime: np.ndarray) -> np.ndarray | float:
    """σ of each market's current regime [price/√time] (the scalar σ in a world with one regime)."""
    return world.sigma_levels[regime] if world.n_regimes > 1 else world.sigma


@dataclasses.dataclass(frozen=True)
class Entry:
    """One observation entry: ``raw(world, state) / scale(world)``, within ``bounds(world)``."""

    name: str
    unit: str
    raw: Callable[[World, MarketState], np.ndarray]
    scale: Callable[[World], float]
    bounds: Callable[[World], tuple[float, float]]
    clip: bool = False


def _inventory_bound(world: World) -> tuple[float, float]:
    reach = world.max_inventory / world.inventory_unit
    return -reach, reach


def _hedge_bound(world: World) -> tuple[float, float]:
    reach = world.hedge_max_position / world.hedge_unit
    return -reach, reach


ENTRIES: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry(
            "inventory",
            "lots / inventory_scale (World.inventory_unit)",
            lambda w, s: s.inventory[0],
            lambda w: w.inventory_unit,
            _inventory_bound,
        ),
        Entry(
            "time_to_close",
            "(T − t) / World.time_unit (the session, or the span of the close in a longer one)",
            lambda w, s: (w.n_steps - s.step) * np.float64(w.dt),
            lambda w: w.time_unit,
            lambda w: (0.0, w.horizon / w.time_unit),
        ),
        Entry(
            "volatility",
            "σ of the current regime / largest regime σ",
            lambda w, s: regime_sigma(w, s.regime),
            lambda w: w.max_sigma,
            lambda w: (0.0, 1.0),
        ),
        Entry(
            "hedge_position",
            "hedge lots / World.hedge_unit (the minimum-variance hedge of inventory_unit); hedged worlds only",
            lambda w, s: s.hedge_position[0],
            lambda w: w.hedge_unit,
            _hedge_bound,
        ),
        Entry(
            "mid_return",
            "last mid change / (largest σ·√dt), clipped to ±10",
            lambda w, s: s.mid_return[0],
            lambda w: w.max_sigma * np.sqrt(w.dt),
            lambda w: (-MID_RETURN_BOUND, MID_RETURN_BOUND),
            clip=True,
        ),
        Entry(
            "close_proximity",
            "1 / steps left to the close (1 in the session's last step, ½ in the one before)",
            lambda w, s: 1.0 / np.maximum(w.n_steps - s.step, 1),
            lambda w: 1.0,
            lambda w: (0.0, 1.0),
        ),
        Entry(
            "close_relaxation",
            "e^(−(T − t)/τ), τ the optimal skew's relaxation time (World.natural_scales['close_time']; 1 without one)",
            lambda w, s: np.exp(-(w.n_steps - s.step) * np.float64(w.dt) / w.natural_scales["close_time"]),
            lambda w: 1.0,
            lambda w: (0.0, 1.0),
        ),
        Entry(
            "bid_filled", "bid filled last step (0 or 1)", lambda w, s: s.bid_filled[0], lambda w: 1.0, lambda w: (0, 1)
        ),
        Entry(
            "ask_filled", "ask filled last step (0 or 1)", lambda w, s: s.ask_filled[0], lambda w: 1.0, lambda w: (0, 1)
        ),
        Entry(
            "fill_imbalance",
            "EWMA of bid − ask fills (weight 0.1 on the latest step)",
            lambda w, s: s.fill_imbalance[0],
            lambda w: 1.0,
            lambda w: (-1.0, 1.0),
        ),
    )
}


def observer(world: World) -> Callable[[MarketState], np.ndarray]:
    """``observe`` for one world, with its entries and scales looked up once (for a batch's every step)."""
    columns = []
    for name in world.observation_names:
        entry = ENTRIES[name]
        # A numpy scale: a Python float meeting a numpy integer scalar (one unbatched market) is ten times slower.
        columns.append((entry.raw, np.float64(entry.scale(world)), entry.bounds(world) if entry.clip else None))

    def observe_state(state: MarketState) -> np.ndarray:
        if not state.shape:  # one unbatched market: one array from its values, a third of the cost
            values = [raw(world, state) / scale for raw, scale, _ in columns]
            for column, (_, _, bounds) in enumerate(columns):
                if bounds is not None:
                    values[column] = np.clip(values[column], *bounds)
            return np.array(values, dtype=np.float32)
        observation = np.empty(state.shape + (len(columns),), dtype=np.float32)
        for column, (raw, scale, bounds) in enumerate(columns):
            value = raw(world, state) / scale
            if bounds is not None:
                value = np.clip(value, *bounds)
            observation[..., column] = value
        return observation

    return observe_state


def observe(world: World, state: MarketState) -> np.ndarray:
    """Observations, float32 of shape ``(n, len(world.observation_names))`` (``(len(...),)`` for one unbatched
    market); see ``ENTRIES``."""
    return observer(world)(state)


def observation_bounds(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of each observation entry (float32)."""
    low, high = zip(*(ENTRIES[name].bounds(world) for name in world.observation_names), strict=True)
    return np.array(low, dtype=np.float32), np.array(high, dtype=np.float32)


def decode_observation(world: World, observation: np.ndarray) -> dict[str, np.ndarray]:
    """Recover the raw quantities of a batch of observations ``(n, obs_dim)``, one array per entry name.

    ``inventory`` and ``hedge_position`` [lots, int64] and ``time_to_close`` [time, on the step grid] are exact;
    ``volatility`` [price/√time] is snapped to the nearest regime's σ; the others are in their raw units.
    """
    observation = np.asarray(observation, dtype=np.float64)
    names = world.observation_names
    if observation.ndim != 2 or observation.shape[1] != len(names):
        raise ValueError(f"observation must have shape (n, {len(names)}); got {observation.shape}")
    raw = {name: observation[:, column] * ENTRIES[name].scale(world) for column, name in enumerate(names)}
    raw["inventory"] = np.rint(raw["inventory"]).astype(np.int64)
    if "hedge_position" in raw:
        raw["hedge_position"] = np.rint(raw["hedge_position"]).astype(np.int64)
    raw["time_to_close"] = np.rint(raw["time_to_close"] / world.dt).astype(np.int64) * world.dt
    raw["volatility"] = world.sigma_levels[world.regime_of(raw["volatility"])]
    return raw


def translate_observation(source: World, target: World, observation: np.ndarray) -> np.ndarray:
    """Observations made in ``source`` re-expressed in ``target``'s units: the same inventory [lots],
    time to close [time], volatility and features, scaled as ``target`` scales them (no clipping
    beyond ``target``'s own, so a state outside ``target``'s training range stays outside it).

    ``ValueError`` if the two worlds observe different entries.
    """
    if source.observation_names != target.observation_names:
        raise ValueError(
            f"observation layouts differ: this world observes {list(source.observation_names)}, the policy was "
            f"trained on {list(target.observation_names)}; evaluate it in a world with the same observation_features"
        )
    raw = decode_observation(source, observation)
    translated = np.empty(np.shape(observation), dtype=np.float32)
    for column, name in enumerate(target.observation_names):
        entry = ENTRIES[name]
        value = raw[name] / entry.scale(target)
        if entry.clip:
            value = np.clip(value, *entry.bounds(target))
        translated[:, column] = value
    return translated


def observation_at(
    world: World,
    inventory: np.ndarray,
    steps_left: np.ndarray,
    regime: np.ndarray | int = 0,
    hedge_position: np.ndarray | int = 0,
) -> np.ndarray:
    """Observations of markets in given states with no history (extra features at zero), through
    ``observe``: for plotting a policy's quotes over a grid of states."""
    inventory, steps_left, regime, hedge_position = np.broadcast_arrays(
        np.asarray(inventory), np.asarray(steps_left), np.asarray(regime), np.asarray(hedge_position)
    )
    n = inventory.size
    zeros, counts = np.zeros((1, n)), np.zeros((1, n), dtype=np.int64)
    state = MarketState(
        mid=zeros,
        cash=zeros[0],
        inventory=inventory.reshape(1, n).astype(np.int64),
        step=world.n_steps - steps_left.ravel().astype(np.int64),
        regime=regime.ravel().astype(np.int64),
        key=np.zeros(n, dtype=np.uint64),
        episode=np.zeros(n, dtype=np.uint64),
        mid_return=zeros,
        bid_filled=counts,
        ask_filled=counts,
        hedge_mid=zeros if world.hedged else zeros[:0],
        hedge_position=hedge_position.reshape(1, n).astype(np.int64) if world.hedged else counts[:0],
        fill_imbalance=zeros,
    )
    return observe(world, state)


def observation_table_markdown(world: World | None = None) -> str:
    """The layout as a Markdown table (index, name, unit), for docs and reports."""
    names = world.observation_names if world is not None else tuple(ENTRIES)
    lines = ["| index | name | unit |", "|---|---|---|"]
    lines += [f"| {i} | {name} | {ENTRIES[name].unit} |" for i, name in enumerate(names)]
    return "\n".join(lines)
