"""The observation layout, as one table read by the env, its bounds, decoding, plots and docs, for every market.

Each entry is a raw quantity in natural units divided by a scale the market's interface owns (``envs.interface``):
``observation = raw / scale``. An entry is per book (one column), per quoted asset (one column per asset) or per
hedge instrument (one per hedge); a column is named after its entry, with the asset's (hedge's) index appended in a
market of several (``inventory_0``, ``inventory_1``). Decoding multiplies back, so a policy trained in one market
can be shown the states of another in its own training interface's units (``translate_observation``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

import numpy as np

from envs.core import MarketState
from envs.interface import Interface, interface_of, natural_scales
from envs.market import FILL_DTYPE

# Bound on the observed last mid return, in units of the largest regime's σ√dt.
MID_RETURN_BOUND = 10.0
# The entries every market observes, in order; the features follow (``Interface.features``).
BASE_OBSERVATION = ("inventory", "time_to_close", "volatility", "hedge_position")
# Each feature's entries.
FEATURE_ENTRIES = {
    "last_fills": ("bid_filled", "ask_filled"),
    "prints": ("sells_printed", "buys_printed"),
    "flow_signals": ("print_imbalance", "mid_trend"),
}


@dataclasses.dataclass(frozen=True)
class Constants:
    """What the table's raw quantities read at every step, looked up once per interface (``constants``)."""

    n_steps: int
    dt: np.float64
    sigma_levels: np.ndarray  # the first asset's σ in each regime [price/√time]
    max_sigma: float  # their largest (1 where σ = 0)
    one_regime: bool
    largest_size: np.ndarray  # (d,) [lots]
    # By step 0 … n_steps + 1 (a closed session steps once before it reopens, under next-step autoreset): the
    # close's time features, looked up rather than computed (a ufunc call on one book's scalar is slow).
    close_proximity: np.ndarray  # 1 / max(steps left, 1)
    close_relaxation: np.ndarray  # e^(−(T − t)/τ)


@lru_cache(maxsize=256)
def constants(view: Interface) -> Constants:
    market = view.market
    sigma_levels = market.assets[0].sigma * np.asarray(market.regimes.scales, dtype=np.float64)
    close_time = natural_scales(market)["close_time"]
    steps_left = market.n_steps - np.arange(market.n_steps + 2)
    return Constants(
        n_steps=market.n_steps,
        dt=np.float64(market.dt),
        sigma_levels=sigma_levels,
        max_sigma=float(sigma_levels.max()) or 1.0,
        one_regime=market.regimes.count == 1,
        largest_size=np.array([float(max(asset.sizes)) for asset in market.assets]),
        close_proximity=1.0 / np.maximum(steps_left, 1),
        close_relaxation=np.exp(-steps_left * np.float64(market.dt) / close_time),
    )


def regime_sigma(c: Constants, state: MarketState) -> np.ndarray | float:
    """The first asset's σ in each book's current regime [price/√time] (its σ in a market with one regime)."""
    return c.sigma_levels[0] if c.one_regime else c.sigma_levels[state.regime]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One observation entry: ``raw(constants(interface), state) / scale(interface)``, within ``bounds(interface)``.
    ``per``:
    ``"book"`` (raw of the books' shape, one column), ``"asset"`` (raw ``(d, *M)``, scales and bounds ``(d,)``, a
    column per asset), ``"hedge"`` (``(m, *M)``, a column per hedge) or ``"flow"`` (``(S, *M)``, a column per flow
    state)."""

    name: str
    unit: str
    per: Literal["book", "asset", "hedge", "flow"]
    raw: Callable[[Constants, MarketState], np.ndarray]
    scale: Callable[[Interface], np.ndarray | float]
    bounds: Callable[[Interface], tuple]
    clip: bool = False

    def count(self, view: Interface) -> int:
        """Columns of this entry in ``view``'s market."""
        market = view.market
        return {"book": 1, "asset": market.n_assets, "hedge": market.n_hedges, "flow": market.flow.count}[self.per]

    def column_names(self, view: Interface) -> list[str]:
        if self.per == "book" or (self.count(view) == 1 and self.per != "flow"):
            return [self.name] * self.count(view)
        return [f"{self.name}_{i}" for i in range(self.count(view))]

    def column_scales(self, view: Interface) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.scale(view), dtype=np.float64), (self.count(view),))

    def column_bounds(self, view: Interface) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.bounds(view)
        shape = (self.count(view),)
        return np.broadcast_to(np.asarray(low, np.float64), shape), np.broadcast_to(np.asarray(high, np.float64), shape)


def _inventory_reach(view: Interface) -> tuple[np.ndarray, np.ndarray]:
    reach = view.market.column("max_inventory") / np.array(view.inventory_unit)
    return -reach, reach


def _hedge_reach(view: Interface) -> tuple[np.ndarray, np.ndarray]:
    reach = view.market.hedge_column("max_position") / view.hedge_unit
    return -reach, reach


def _mid_return_scale(view: Interface) -> np.ndarray:
    scales = np.asarray(view.market.regimes.scales, dtype=np.float64)
    largest = view.market.column("sigma") * scales.max()
    return np.where(largest > 0, largest, 1.0) * np.sqrt(view.market.dt)


def _sizes(view: Interface) -> np.ndarray:
    return constants(view).largest_size


ENTRIES: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry(
            "inventory",
            "lots / inventory_unit (Interface.inventory_unit)",
            "asset",
            lambda c, s: s.inventory,
            lambda v: np.array(v.inventory_unit),
            _inventory_reach,
        ),
        Entry(
            "time_to_close",
            "(T − t) / Interface.time_unit (the session, or the span of the close in a longer one)",
            "book",
            lambda c, s: (c.n_steps - s.step) * c.dt,
            lambda v: v.time_unit,
            lambda v: (0.0, v.market.horizon / v.time_unit),
        ),
        Entry(
            "volatility",
            "the first asset's σ in the current regime / its largest over regimes (regimes scale every σ alike)",
            "book",
            regime_sigma,
            lambda v: constants(v).max_sigma,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "hedge_position",
            "hedge lots / Interface.hedge_unit (the minimum-variance hedge of inventory_unit)",
            "hedge",
            lambda c, s: s.hedge_position,
            lambda v: v.hedge_unit,
            _hedge_reach,
        ),
        Entry(
            "mid_return",
            "last mid change / (largest regime σ·√dt), clipped to ±10",
            "asset",
            lambda c, s: s.mid_return,
            _mid_return_scale,
            lambda v: (-MID_RETURN_BOUND, MID_RETURN_BOUND),
            clip=True,
        ),
        Entry(
            "close_proximity",
            "1 / steps left to the close (1 in the session's last step, ½ in the one before)",
            "book",
            lambda c, s: c.close_proximity[s.step],
            lambda v: 1.0,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "close_relaxation",
            "e^(−(T − t)/τ), τ the optimal skew's relaxation time (natural_scales' close_time; 1 without one)",
            "book",
            lambda c, s: c.close_relaxation[s.step],
            lambda v: 1.0,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "bid_filled",
            "lots bought at the bid last step / the largest size (0 or 1 with unit sizes)",
            "asset",
            lambda c, s: s.bid_filled,
            _sizes,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "ask_filled",
            "lots sold at the ask last step / the largest size (0 or 1 with unit sizes)",
            "asset",
            lambda c, s: s.ask_filled,
            _sizes,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "sells_printed",
            "1 if a sell request arrived at the asset's bid last step (a public print, filled or not), else 0",
            "asset",
            lambda c, s: s.prints[0],
            lambda v: 1.0,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "buys_printed",
            "1 if a buy request arrived at the asset's ask last step (a public print, filled or not), else 0",
            "asset",
            lambda c, s: s.prints[1],
            lambda v: 1.0,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "print_imbalance",
            "EWMA of sells − buys printed at the asset (weight 0.1 on the latest step): the flow's public lean",
            "asset",
            lambda c, s: s.print_imbalance,
            lambda v: 1.0,
            lambda v: (-1.0, 1.0),
        ),
        Entry(
            "mid_trend",
            "EWMA of the mid's moves (weight 0.1 on the latest step) / (largest regime σ·√dt), clipped to ±10",
            "asset",
            lambda c, s: s.mid_trend,
            _mid_return_scale,
            lambda v: (-MID_RETURN_BOUND, MID_RETURN_BOUND),
            clip=True,
        ),
        Entry(
            "flow_belief",
            "the maker's filtered probability of each hidden flow state in the coming step (envs.flow)",
            "flow",
            lambda c, s: s.belief,
            lambda v: 1.0,
            lambda v: (0.0, 1.0),
        ),
        Entry(
            "fill_imbalance",
            "EWMA of bid − ask lots filled (weight 0.1 on the latest step) / the largest size",
            "asset",
            lambda c, s: s.fill_imbalance,
            _sizes,
            lambda v: (-1.0, 1.0),
        ),
    )
}


def observed_entries(view: Interface) -> tuple[Entry, ...]:
    """The entries ``view`` observes, in order: the base ones (``hedge_position`` where the market has hedges),
    then each feature's."""
    names = [name for name in BASE_OBSERVATION if ENTRIES[name].count(view)]
    for feature in view.features:
        names += FEATURE_ENTRIES.get(feature, (feature,))
    return tuple(ENTRIES[name] for name in names)


def observation_names(world) -> tuple[str, ...]:
    """The observation's column names, in order (see the module docstring)."""
    view = interface_of(world)
    return tuple(name for entry in observed_entries(view) for name in entry.column_names(view))


def _columns(view: Interface) -> list[tuple[Entry, int | None, np.float64]]:
    """Each column's entry, index within the entry (``None`` for a book entry) and scale."""
    columns = []
    for entry in observed_entries(view):
        for index, scale in enumerate(entry.column_scales(view)):
            # A numpy scale: a Python float meeting a numpy integer scalar (one unbatched book) is ten times slower.
            columns.append((entry, None if entry.per == "book" else index, np.float64(scale)))
    return columns


def observer(world) -> Callable[[MarketState], np.ndarray]:
    """``observe`` for one market, with its columns and scales looked up once (for a batch's every step)."""
    view = interface_of(world)
    c = constants(view)
    columns = []
    for entry, index, scale in _columns(view):
        bounds = None
        if entry.clip:
            low, high = entry.column_bounds(view)
            bounds = (low[index or 0], high[index or 0])
        columns.append((entry.raw, index, scale, bounds))

    def observe_state(state: MarketState) -> np.ndarray:
        if not state.shape:  # one unbatched book: one array from its values, a third of the cost
            values = []
            for raw, index, scale, bounds in columns:
                value = raw(c, state)
                value = (value if index is None else value[index]) / scale
                values.append(value if bounds is None else np.clip(value, *bounds))
            return np.array(values, dtype=np.float32)
        observation = np.empty(state.shape + (len(columns),), dtype=np.float32)
        for column, (raw, index, scale, bounds) in enumerate(columns):
            value = raw(c, state)
            value = (value if index is None else value[index]) / scale
            if bounds is not None:
                value = np.clip(value, *bounds)
            observation[..., column] = value
        return observation

    return observe_state


def observe(world, state: MarketState) -> np.ndarray:
    """Observations, float32 of shape ``(n, len(observation_names))`` (``(len(...),)`` for one unbatched book);
    see ``ENTRIES``."""
    return observer(world)(state)


def observation_bounds(world) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of each observation column (float32)."""
    view = interface_of(world)
    bounds = [entry.column_bounds(view) for entry in observed_entries(view)]
    low = np.concatenate([low for low, _ in bounds]).astype(np.float32)
    high = np.concatenate([high for _, high in bounds]).astype(np.float32)
    return low, high


def _raw_columns(view: Interface, observation: np.ndarray) -> np.ndarray:
    """The raw values ``(n, columns)`` behind a batch of observations: inventories and hedge positions rounded to
    whole lots, the time to close snapped to the step grid, the volatility to the nearest regime's."""
    observation = np.asarray(observation, dtype=np.float64)
    columns = _columns(view)
    if observation.ndim != 2 or observation.shape[1] != len(columns):
        raise ValueError(
            f"observation must have shape (n, {len(columns)}) {list(observation_names(view))}; got {observation.shape}"
        )
    raw = observation * np.array([scale for _, _, scale in columns])
    for column, (entry, _, _) in enumerate(columns):
        if entry.name in ("inventory", "hedge_position"):
            raw[:, column] = np.rint(raw[:, column])
        elif entry.name == "time_to_close":
            raw[:, column] = np.rint(raw[:, column] / view.market.dt) * view.market.dt
        elif entry.name == "volatility":
            raw[:, column] = regime_sigmas(view)[nearest_regime(view, raw[:, column])]
    return raw


def decode_observation(world, observation: np.ndarray) -> dict[str, np.ndarray]:
    """The raw quantities of a batch of observations ``(n, columns)``, one array per entry name: per book ``(n,)``,
    per asset ``(n, d)``, per hedge ``(n, m)``.

    ``inventory`` and ``hedge_position`` [lots, int64] and ``time_to_close`` [time, on the step grid] are exact;
    ``regime`` (the index of the regime nearest the observed volatility, int64) is added, and ``volatility`` is
    each asset's σ in it [price/√time, ``(n, d)``]; the others are in their raw units.
    """
    view = interface_of(world)
    raw = _raw_columns(view, observation)
    decoded: dict[str, np.ndarray] = {}
    start = 0
    for entry in observed_entries(view):
        count = entry.count(view)
        values = raw[:, start : start + count]
        decoded[entry.name] = values[:, 0] if entry.per == "book" else values
        start += count
    for name in ("inventory", "hedge_position"):
        if name in decoded:
            decoded[name] = decoded[name].astype(np.int64)
    decoded["regime"] = nearest_regime(view, decoded["volatility"])
    decoded["volatility"] = regime_volatility(view.market, decoded["regime"])
    return decoded


def regime_sigmas(world) -> np.ndarray:
    """The first asset's σ in each regime ``(regimes,)`` [price/√time] (regimes scale every σ alike): what the
    ``volatility`` entry observes."""
    return constants(interface_of(world)).sigma_levels


def nearest_regime(world, volatility: np.ndarray) -> np.ndarray:
    """The index of the regime whose first-asset σ is nearest each observed ``volatility`` [price/√time] (int64,
    of its shape)."""
    levels = regime_sigmas(world)
    return np.abs(np.asarray(volatility, dtype=np.float64)[..., None] - levels).argmin(axis=-1)


def regime_volatility(market, regime: np.ndarray) -> np.ndarray:
    """Each asset's σ in each book's regime ``(n,)``: ``(n, d)`` [price/√time] (regimes scale every σ alike)."""
    return np.asarray(market.regimes.scales, dtype=np.float64)[regime][:, None] * market.column("sigma")


def decoded_state(
    world,
    inventory: np.ndarray,
    hedge_position: np.ndarray | None,
    time_to_close: np.ndarray,
    regime: np.ndarray | None = None,
    flow_belief: np.ndarray | None = None,
    flow_state: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Books' positions in ``decode_observation``'s layout (without the features): ``inventory`` ``(n, d)`` and
    ``hedge_position`` ``(n, m)`` [lots, int64; ``None``: flat], ``time_to_close`` ``(n,)`` [time], ``regime``
    ``(n,)`` (``None``: the first) and each asset's σ in it, ``volatility`` ``(n, d)`` [price/√time]; with informed
    flow, the maker's filtered ``flow_belief`` ``(n, S)`` and the hidden ``flow_state`` ``(n,)`` where given (a
    dealing rule's rollout gives both; only a full-information bound may read the second)."""
    market = interface_of(world).market
    inventory = np.asarray(inventory, dtype=np.int64)
    n = inventory.shape[0]
    regime = np.zeros(n, dtype=np.int64) if regime is None else np.broadcast_to(np.asarray(regime, np.int64), (n,))
    position = np.zeros((n, market.n_hedges), dtype=np.int64) if hedge_position is None else hedge_position
    state = {
        "inventory": inventory,
        "hedge_position": np.asarray(position, dtype=np.int64),
        "time_to_close": np.broadcast_to(np.asarray(time_to_close, dtype=np.float64), (n,)),
        "regime": regime,
        "volatility": regime_volatility(market, regime),
    }
    if flow_belief is not None:
        state["flow_belief"] = np.asarray(flow_belief, dtype=np.float64)
    if flow_state is not None:
        state["flow_state"] = np.asarray(flow_state, dtype=np.int64)
    return state


def translate_observation(source, target, observation: np.ndarray) -> np.ndarray:
    """Observations made in ``source``'s market re-expressed in ``target``'s units: the same inventories [lots],
    time to close [time], volatility [price/√time] and features, scaled as ``target`` scales them (no clipping
    beyond ``target``'s own, so a state outside ``target``'s training range stays outside it).

    ``ValueError`` if the two observe different columns.
    """
    source, target = interface_of(source), interface_of(target)
    if observation_names(source) != observation_names(target):
        raise ValueError(
            f"observation layouts differ: this market observes {list(observation_names(source))}, the policy was "
            f"trained on {list(observation_names(target))}; evaluate it in a market with the same assets, hedges "
            "and observation features"
        )
    raw = _raw_columns(source, observation)
    translated = np.empty(raw.shape, dtype=np.float32)
    for column, (entry, index, scale) in enumerate(_columns(target)):
        value = raw[:, column] / scale
        if entry.clip:
            low, high = entry.column_bounds(target)
            value = np.clip(value, low[index or 0], high[index or 0])
        translated[:, column] = value
    return translated


def observation_at(
    world,
    inventory: np.ndarray,
    steps_left: np.ndarray,
    regime: np.ndarray | int = 0,
    hedge_position: np.ndarray | int = 0,
    belief: np.ndarray | None = None,
) -> np.ndarray:
    """Observations ``(n, columns)`` of books in given states with no history (features at zero), through
    ``observe``: ``inventory`` ``(n, d)`` [lots], ``steps_left`` ``(n,)``, ``regime`` ``(n,)``, ``hedge_position``
    ``(n, m)`` [lots] and, with informed flow, ``belief`` ``(n, S)`` (each broadcast; the belief by default the flow
    chain's stationary law); for plotting a policy's quotes over a grid of states."""
    view = interface_of(world)
    market = view.market
    d, m = market.n_assets, market.n_hedges
    inventory = np.asarray(inventory)
    n = inventory.shape[0] if inventory.ndim else 1
    steps_left, regime = (np.broadcast_to(np.asarray(x), (n,)) for x in (steps_left, regime))
    zeros, counts = np.zeros((d, n)), np.zeros((d, n), dtype=FILL_DTYPE)
    state = MarketState(
        mid=zeros,
        cash=zeros[0],
        inventory=np.broadcast_to(inventory, (n, d)).T.astype(np.int64),
        step=market.n_steps - steps_left.astype(np.int64),
        regime=regime.astype(np.int64),
        key=np.zeros(n, dtype=np.uint64),
        episode=np.zeros(n, dtype=np.uint64),
        mid_return=zeros,
        bid_filled=counts,
        ask_filled=counts,
        hedge_mid=np.zeros((m, n)),
        hedge_position=np.broadcast_to(np.asarray(hedge_position), (n, m)).T.astype(np.int64),
        fill_imbalance=zeros,
        prints=np.zeros((2, d, n), dtype=bool),
        print_imbalance=zeros,
        mid_trend=zeros,
    )
    if market.flow.count > 1:
        belief = market.stationary_flow_distribution if belief is None else belief
        state.belief = np.broadcast_to(np.asarray(belief, dtype=np.float64), (n, market.flow.count)).T
    return observe(view, state)


def observation_table_markdown(world=None) -> str:
    """The layout as a Markdown table (index, name, per, unit): of a market's interface, or every entry."""
    lines = ["| index | name | per | unit |", "|---|---|---|---|"]
    if world is None:
        lines += [f"| – | {name} | {entry.per} | {entry.unit} |" for name, entry in ENTRIES.items()]
        return "\n".join(lines)
    view = interface_of(world)
    columns = [(name, entry) for entry in observed_entries(view) for name in entry.column_names(view)]
    lines += [f"| {i} | {name} | {entry.per} | {entry.unit} |" for i, (name, entry) in enumerate(columns)]
    return "\n".join(lines)
