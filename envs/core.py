"""The batched market core: pure numpy over ``n`` independent markets, no Gymnasium import.

One step, for every market at once (A–S 2008 §4's simulation, generalized):

1. the maker quotes a bid at ``s − δ_b`` and an ask at ``s + δ_a`` (either side may be pulled);
2. each quoted side fills at most one lot, with probability given by the world's ``fill_rule`` at
   intensity ``λ(δ) = A_side·e^(−k·δ)``; the side that would take ``|q|`` past ``Q`` never fills;
3. cash and inventory settle the fills at the quoted prices, less ``fee`` per lot;
4. the mid moves by ``σ_regime·√dt·ε`` plus ``ξ·(ask fills − bid fills)`` (adverse jump);
5. the reward is the change in wealth marked to the mid minus ``φ·q²·dt`` (and ``α·q_T²`` at the close;
   φ is the current regime's, see ``World.volatility_scaled_penalty``);
6. the volatility regime switches with the chain's one-step transition matrix.

In a world with a hedge instrument (``World.hedged``), at the start of the step the maker also trades
``u`` lots of it (the action's hedge leg, at most ``U_max`` and clipped so that ``|q₂ + u| ≤ Q₂``) at its
start-of-step mid,
paying ``ψ·|u| + η·u²/dt`` (plus the ticket fee if ``u ≠ 0``); its mid then moves by
``σ₂_regime·√dt·(ρ·ε + √(1 − ρ²)·ε⊥)``, ε the quoted mid's shock (the adverse jump stays the quoted
asset's own); the reward adds the hedge position's revaluation, subtracts the hedge cost, and the
penalties charge the net risk ``qᵀRq`` of ``q = (q₁, q₂)`` (``World.risk_matrix``) instead of ``q₁²``.

Markets have a shape: ``(n,)`` for a batch, or ``()`` for one unbatched market (every per-market value a
numpy scalar, and the two quote sides a ``(2,)`` row), which the single env steps at a fraction of a
one-market batch's per-call cost; the code is the same, by broadcasting.

Randomness is counter-based: each market owns a 64-bit key, and the uniform for (episode, step,
stream) is the splitmix64 output at that counter. A market's draws depend only on its own key, so
one column of a batch equals a single market seeded alike, and two policies run on the same keys
face the same order arrivals and mid shocks (common random numbers).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from envs.world import World

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE_BITS = np.uint64(0x3FF0000000000000)
# The counter is episode (bits 32+), step (bits 8–31) and stream (bits 0–7): 255 streams per step (stream
# numbers 1–255), of which a single-asset step uses 4 or 5, a hedged one up to 6.
MAX_STREAMS = 255
_STREAM_OFFSETS = np.arange(1, MAX_STREAMS + 1, dtype=np.uint64) * _GOLDEN
_BLOCK_BYTES = 64 * 1024
# Streams of one step; the reset draws use step index ``n_steps`` (never a trading step).
_BID, _ASK, _MID, _MID2, _REGIME, _HEDGE_MID = range(6)
_INVENTORY, _INITIAL_REGIME = range(2)
# Weight of the latest step in the exponentially-weighted fill imbalance feature.
IMBALANCE_WEIGHT = 0.1


@dataclasses.dataclass(slots=True)
class MarketState:
    """State of ``n`` markets; every field is an array of shape ``(n,)``, or a numpy scalar for one unbatched
    market (see the module's note). ``hedge_mid`` [price] and ``hedge_position`` [lots] are the hedge
    instrument's (``None`` in a world without one); ``positions`` is the ``(n, assets)`` view of the positions."""

    mid: np.ndarray
    cash: np.ndarray
    inventory: np.ndarray
    step: np.ndarray
    regime: np.ndarray
    key: np.ndarray
    episode: np.ndarray
    mid_return: np.ndarray
    bid_filled: np.ndarray
    ask_filled: np.ndarray
    fill_imbalance: np.ndarray
    hedge_mid: np.ndarray | None = None
    hedge_position: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The markets' shape: ``(n,)``, or ``()`` for one unbatched market."""
        return self.mid.shape

    @property
    def wealth(self) -> np.ndarray:
        """Cash plus the positions marked to their mids [price]."""
        wealth = self.cash + self.inventory * self.mid
        return wealth if self.hedge_position is None else wealth + self.hedge_position * self.hedge_mid

    @property
    def positions(self) -> np.ndarray:
        """Positions per asset, ``(n, assets)`` [lots]: the inventory, then the hedge position if any."""
        columns = (self.inventory,) if self.hedge_position is None else (self.inventory, self.hedge_position)
        return np.stack(columns, axis=1)


@dataclasses.dataclass(slots=True)
class Action:
    """The maker's action in one step: the quote legs, both sides stacked (column 0 the bid, column 1
    the ask), and the hedge leg.

    ``offset`` (float64, ``(n, 2)``) is each quote's distance from the mid [price]; ``quoted`` (bool,
    ``(n, 2)``) is false where the side is pulled (a pulled side never fills); ``hedge`` (int64,
    ``(n,)``, lots, positive buys) the trade asked for in the hedge instrument, or ``None`` for no trade.
    For one unbatched market, ``offset`` and ``quoted`` are ``(2,)`` and ``hedge`` a scalar."""

    offset: np.ndarray
    quoted: np.ndarray
    hedge: np.ndarray | None = None

    @classmethod
    def of(cls, bid_offset, ask_offset, bid_quoted=True, ask_quoted=True, hedge=None) -> Action:
        """From per-side arrays (or scalars), broadcast together."""
        offset = np.stack(np.broadcast_arrays(np.asarray(bid_offset, float), np.asarray(ask_offset, float)), axis=-1)
        quoted = np.broadcast_to(np.stack(np.broadcast_arrays(bid_quoted, ask_quoted), axis=-1), offset.shape)
        offset = np.atleast_2d(offset)
        if hedge is not None:
            hedge = np.broadcast_to(np.asarray(hedge, dtype=np.int64), offset.shape[:1])
        return cls(offset, np.atleast_2d(quoted).astype(bool), hedge)


@dataclasses.dataclass(slots=True)
class StepOutcome:
    """What one step produced, per market (arrays of shape ``(n,)``), in price units unless noted."""

    reward: np.ndarray
    terminated: np.ndarray
    bid_fills: np.ndarray
    ask_fills: np.ndarray
    spread_captured: np.ndarray
    inventory_pnl: np.ndarray
    jump_pnl: np.ndarray
    penalty: np.ndarray
    fees: np.ndarray
    fill_noise: np.ndarray  # the fills' cash (spread captured − fees) less its expectation given the quotes
    # The penalty's expectation given the quotes (the fills not yet drawn), evaluated only when
    # ``variance_reduced_reward`` is read: a third of a step's cost at 10,000 markets.
    expected_penalty: Callable[[], np.ndarray]
    hedge_trade: np.ndarray | None = None
    hedge_cost: np.ndarray | None = None
    hedge_pnl: np.ndarray | None = None

    @property
    def variance_reduced_reward(self) -> np.ndarray:
        """The reward with the diffusive revaluations (``q·σ·√dt·ε``, and the hedge position's) replaced
        by their mean, zero, the fills' cash (spread captured less fees) by its expectation given the
        quotes, ``Σ_sides p(δ)·(δ − fee)`` (``fill_noise`` removed), and the penalty by its expectation
        given the quotes, ``rate·(risk(E[q']) + Σ_sides p·(1 − p))`` with ``E[q'] = q + p_bid − p_ask``
        (``expected_penalty``: at the close, whether a last quote fills would decide ``α·q'²``).

        Same expected objective (the mids are martingales given the fills, and each step's expected fill
        cash is known given the state and the quotes: a Rao–Blackwellized reward), far less noise; the
        fills themselves, and so the inventory and every later reward, are the realized ones.
        """
        reward = self.reward - self.inventory_pnl + self.jump_pnl - self.fill_noise + self.penalty
        reward -= self.expected_penalty()
        return reward if self.hedge_pnl is None else reward - self.hedge_pnl


def uniforms(key: np.ndarray, episode: np.ndarray, step: np.ndarray, n_streams: int) -> np.ndarray:
    """Uniforms in [0, 1) of shape ``(n_streams, *markets)``: splitmix64 at counter (episode, step, stream),
    ``n_streams`` ≤ ``MAX_STREAMS``."""
    if np.ndim(key) == 0:  # one unbatched market: hashed as a batch of one (numpy scalars warn on wrap-around)
        return uniforms(np.reshape(key, 1), np.reshape(episode, 1), np.reshape(step, 1), n_streams)[:, 0]
    counter = (episode << np.uint64(32)) | (step.astype(np.uint64) << np.uint64(8))
    base = key + counter * _GOLDEN
    n = base.shape[0]
    if n_streams * n * 8 <= _BLOCK_BYTES:
        return _splitmix_to_unit(base[None, :] + _STREAM_OFFSETS[:n_streams, None])
    # Large batches hash one stream at a time: a single (n_streams, n) temporary would cross the
    # allocator's mmap threshold and page-fault on every step.
    draws = np.empty((n_streams, n))
    for stream in range(n_streams):
        draws[stream] = _splitmix_to_unit(base + _STREAM_OFFSETS[stream])
    return draws


def _splitmix_to_unit(x: np.ndarray) -> np.ndarray:
    """splitmix64's output function, in place, mapped to doubles in [0, 1)."""
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    # The top 52 bits as the mantissa of a double in [1, 2): exact, and far cheaper than a cast.
    x >>= np.uint64(12)
    x |= _ONE_BITS
    unit = x.view(np.float64)
    unit -= 1.0
    return unit


def fill_probability(world: World, intensity: np.ndarray | float) -> np.ndarray:
    """Probability that a quote fills within one step, given its intensity λ [1/time].

    ``"poisson"``: ``1 − e^(−λ·dt)``; ``"as2008"``: ``clip(λ·dt, 0, 1)`` (A–S 2008 §4).
    """
    if world.fill_rule == "poisson":
        return -np.expm1(intensity * -world.dt)  # λ·(−dt) is exactly −(λ·dt), one array operation fewer
    return np.minimum(intensity * world.dt, 1.0)


def quote_fill_probability(world: World, side_intensity: np.ndarray | float, offset: np.ndarray) -> np.ndarray:
    """Probability that a quote at ``offset`` [price] fills within one step, on a side whose orders arrive
    at ``side_intensity`` at zero offset: ``fill_probability`` at ``λ = A_side·e^(−k·δ)`` (A–S 2008, eq. 2.12)."""
    return fill_probability(world, side_intensity * np.exp(-world.fill_decay * offset))


def regime_sigma(world: World, regime: np.ndarray) -> np.ndarray | float:
    """σ of each market's current regime [price/√time] (the scalar σ in a world with one regime)."""
    return world.sigma_levels[regime] if world.n_regimes > 1 else world.sigma


def inventory_penalty(
    world: World,
    inventory: np.ndarray,
    regime: np.ndarray,
    at_close: np.ndarray | bool,
    hedge_position: np.ndarray | None = None,
) -> np.ndarray:
    """The step's penalty [price]: ``φ_regime·dt·q²``, plus ``α·q²`` at the close; q after the step's fills.

    With a hedge position q₂ [lots], ``q²`` becomes the net risk ``qᵀRq = q² + 2ρr·q·q₂ + r²·q₂²``
    (``World.risk_matrix``); arguments broadcast together.
    """
    return penalty_rate(world, regime, at_close) * penalized_risk(world, inventory, hedge_position)


def penalized_risk(world: World, inventory: np.ndarray, hedge_position: np.ndarray | None = None) -> np.ndarray:
    """The risk the penalties charge [lots²]: ``q²``, or with a hedge position the net risk ``qᵀRq``."""
    return inventory * inventory if hedge_position is None else net_risk(world, inventory, hedge_position)


def penalty_rate(world: World, regime: np.ndarray, at_close: np.ndarray | bool) -> np.ndarray:
    """The step's penalty per lot² of risk [price/lot²]: ``φ_regime·dt``, plus ``α`` at the close."""
    running = world.running_penalty_levels[regime] if world.n_regimes > 1 else world.running_penalty_levels[0]
    return running * world.dt + np.float64(world.terminal_penalty) * at_close


def round_to_lot(lots: np.ndarray, lot: np.ndarray | int) -> np.ndarray:
    """A signed amount [lots] rounded to whole multiples of ``lot`` (int64); arguments broadcast."""
    return np.rint(np.asarray(lots) / lot).astype(np.int64) * lot


def clip_trade(
    requested: np.ndarray, position: np.ndarray, max_trade: np.ndarray | int, max_position: np.ndarray | int
) -> np.ndarray:
    """The trade executed for a requested one [lots]: at most ``max_trade`` either way, and no further than
    keeps ``|position + trade| ≤ max_position``; arguments broadcast."""
    low = np.maximum(-max_position - position, -max_trade)
    high = np.minimum(max_position - position, max_trade)
    return np.minimum(np.maximum(requested, low), high).astype(np.int64, copy=False)


def trade_cost(trade: np.ndarray, spread_cost: np.ndarray | float, impact: np.ndarray | float, dt: float) -> np.ndarray:
    """``ψ·|u| + η·u²/dt`` [price] for a trade of u lots (a ticket fee aside): the per-step form of
    ``L(v) = η·v² + ψ·|v|`` (Barzykin, Bergault & Guéant 2023); arguments broadcast."""
    size = np.abs(trade).astype(np.float64)
    return size * (spread_cost + (impact / dt) * size)


def round_to_hedge_lot(world: World, lots: np.ndarray) -> np.ndarray:
    """A signed amount [lots] rounded to whole hedge lots (int64)."""
    return round_to_lot(lots, world.hedge_lot)


def feasible_hedge_trade(world: World, requested: np.ndarray, hedge_position: np.ndarray) -> np.ndarray:
    """The trade the env executes for a requested one [lots, whole hedge lots]: at most ``U_max`` either way,
    and no further than keeps ``|q₂ + u| ≤ Q₂`` (``clip_trade``)."""
    return clip_trade(requested, hedge_position, world.hedge_max_trade, world.hedge_max_position)


def hedge_trade_cost(world: World, trade: np.ndarray) -> np.ndarray:
    """``ψ·|u| + η·u²/dt`` [price] for a trade of u lots in the world's hedge instrument (``trade_cost``)."""
    return trade_cost(trade, world.hedge_spread_cost, world.hedge_impact, world.dt)


def net_risk(world: World, inventory: np.ndarray, hedge_position: np.ndarray) -> np.ndarray:
    """``qᵀRq = q₁² + 2ρr·q₁·q₂ + r²·q₂²`` [lots² of the quoted asset], ``R = Σ/σ₁²`` (``World.risk_matrix``)."""
    risk = world.risk_matrix
    cross, square = risk[0, 1], risk[1, 1]
    return inventory * inventory + (2.0 * cross * inventory + square * hedge_position) * hedge_position


def reset(world: World, key: np.ndarray, episode: np.ndarray) -> MarketState:
    """Open a session in every market, drawing the opening inventory and regime from the market's key.

    ``key`` and ``episode`` (uint64) of the markets' shape: ``(n,)``, or scalars for one unbatched market."""
    key = np.array(key, dtype=np.uint64)[()]  # a copy; a numpy scalar for one unbatched market
    episode = np.array(episode, dtype=np.uint64)[()]
    shape = np.shape(key)
    u = uniforms(key, episode, np.full(shape, world.n_steps)[()], 2)
    inventory = uniform_integers(u[_INVENTORY], *world.inventory_bounds)
    regime = draw_regime(np.cumsum(world.stationary_regime_distribution), u[_INITIAL_REGIME])

    def full(value: float, dtype: type = np.float64) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)[()]

    return MarketState(
        mid=full(world.s0),
        cash=full(0.0),
        inventory=inventory,
        step=full(0, np.int64),
        regime=regime,
        key=key,
        episode=episode,
        mid_return=full(0.0),
        bid_filled=full(0, np.int64),
        ask_filled=full(0, np.int64),
        fill_imbalance=full(0.0),
        hedge_mid=full(world.s0) if world.hedged else None,
        hedge_position=full(0, np.int64) if world.hedged else None,
    )


# Steps before the close within which ``open_near_close`` opens a session, unless told otherwise.
CLOSE_WINDOW = 10

# The inventories sessions opened near the close start at: "uniform", drawn within ±min(Q, ⌈3·inventory_unit⌉)
# lots; "visited", those the markets held ``close_window`` steps before an earlier close (``MarketBatch``).
# ``CLOSE_INVENTORY`` unless told otherwise.
CLOSE_INVENTORIES = ("uniform", "visited")
CLOSE_INVENTORY = "visited"


def check_close_starts(share: float, window: int, inventory: str) -> None:
    """``ValueError`` naming ``close_starts``, ``close_window`` or ``close_inventory`` unless ``share`` ∈ [0, 1],
    ``window`` is a whole number of steps ≥ 1 and ``inventory`` one of ``CLOSE_INVENTORIES``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"close_starts must be a share in [0, 1]; got {share!r}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"close_window must be a whole number of steps ≥ 1; got {window!r}")
    if inventory not in CLOSE_INVENTORIES:
        raise ValueError(f"close_inventory must be one of {list(CLOSE_INVENTORIES)}; got {inventory!r}")


def close_start_probability(world: World, share: float, window: int) -> float:
    """The probability with which ``open_near_close`` must open a session near the close for sessions so
    opened to take ``share`` of the steps: ``p = c·N / (c·N + (1 − c)·m)``, with ``c`` the share, ``N`` the
    session's steps and ``m = (w + 1)/2`` the mean length of a session opened ``1 … w`` steps before the
    close (``w = min(window, N)``).

    A share of steps means the same in every world; a share of sessions does not (at 90 % of sessions,
    one step in ten of a 1,000-step world, half of a 100-step one's)."""
    if share >= 1.0:
        return 1.0
    whole = share * world.n_steps
    return whole / (whole + (1.0 - share) * (min(window, world.n_steps) + 1) / 2)


def open_near_close(
    world: World, state: MarketState, probability: float, window: int, inventory: np.ndarray | None = None
) -> MarketState:
    """Exploring starts near the close, for training: each freshly opened session (at step 0) opens instead,
    with ``probability``, ``1 … window`` steps before the close, drawn uniformly, at ``inventory`` [lots, one per
    market] or, without it, at an inventory drawn uniformly within ±min(Q, ⌈3·inventory_unit⌉) lots; the other
    markets keep ``state``'s opening.

    Each market draws on its own stream, so a batch's markets no longer share the step: every batch of
    samples mixes sessions near the close with whole ones. In a long session the close's last steps are a
    sliver of the samples (one in a thousand steps of a 1,000-step session) and their quotes, which flatten
    the book, go unlearned; short sessions that start there put them back in the batch at little cost in
    samples. Drawn at a counter ``reset`` never uses.
    """
    u = uniforms(state.key, state.episode, np.full(state.shape, world.n_steps + 1)[()], 3)
    near = u[0] < probability
    remaining = uniform_integers(u[1], 1, min(window, world.n_steps))
    if inventory is None:
        reach = int(min(world.max_inventory, math.ceil(3 * world.inventory_unit)))
        inventory = uniform_integers(u[2], -reach, reach)
    return dataclasses.replace(
        state,
        inventory=np.where(near, inventory, state.inventory),
        step=np.where(near, world.n_steps - remaining, state.step),
    )


def uniform_integers(u: np.ndarray, low: int, high: int) -> np.ndarray:
    """Integers drawn uniformly from ``low … high`` (inclusive) by uniforms ``u`` in [0, 1) (int64)."""
    return low + np.minimum((u * (high - low + 1)).astype(np.int64), high - low)


def stream_count(world: World) -> int:
    """Uniforms a step draws per market."""
    if world.hedged and world.mid_process == "binomial":
        return _HEDGE_MID + 1
    return _REGIME + 1 if world.n_regimes > 1 else _REGIME


def step_uniforms(world: World, key: np.ndarray, episode: np.ndarray, first_step: int, steps: int) -> np.ndarray:
    """The uniforms of ``steps`` consecutive steps from ``first_step`` for markets all at that step, shape
    ``(stream_count, steps, *markets)``: entry ``[:, j]`` is exactly what ``step`` draws at ``first_step + j``.

    Drawn ahead in one vectorized call, they spare a small batch the per-step cost of the hash."""
    n = np.size(key)
    at = np.repeat(np.arange(first_step, first_step + steps, dtype=np.int64), n)
    draws = uniforms(np.tile(key, steps), np.tile(episode, steps), at, stream_count(world))
    return draws.reshape((-1, steps) + np.shape(key))


@dataclasses.dataclass(slots=True)
class StepNoise:
    """A step's randomness, from its uniforms (``step_noise``); arrays over markets, ``(n,)``, or over steps
    and markets, ``(steps, n)``, when drawn ahead (``at`` picks one step).

    ``arrival`` ``(2, ...)``: the uniforms the bid's and the ask's fills are drawn against; ``shock``: the
    quoted mid's standard shock (N(0, 1), or ±1 under the binomial mid); ``orthogonal``: the hedge mid's own
    shock (hedged worlds only); ``switch``: the regime switch's uniform (worlds with regimes only).
    """

    arrival: np.ndarray
    shock: np.ndarray
    orthogonal: np.ndarray | None
    switch: np.ndarray | None

    def at(self, j: int) -> StepNoise:
        """Step ``j`` of noise drawn ahead over steps."""
        return StepNoise(
            self.arrival[:, j],
            self.shock[j],
            None if self.orthogonal is None else self.orthogonal[j],
            None if self.switch is None else self.switch[j],
        )


def box_muller(u_radius: np.ndarray, u_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polar form of two independent standard normals from two uniforms: ``(radius, angle)``, the normals
    being ``radius·cos(angle)`` and ``radius·sin(angle)`` (Box & Muller 1958).

    The angle is float32: numpy vectorizes float32 cos and sin, ten times faster, and the normals keep ~7 digits."""
    return np.sqrt(-2.0 * np.log1p(-u_radius)), (2.0 * np.pi * u_angle).astype(np.float32)


def step_noise(world: World, u: np.ndarray) -> StepNoise:
    """The noise of steps from their uniforms, ``(stream_count, ...)`` (``uniforms`` or ``step_uniforms``)."""
    if world.mid_process == "binomial":
        shock = np.where(u[_MID] < 0.5, 1.0, -1.0)
        orthogonal = np.where(u[_HEDGE_MID] < 0.5, 1.0, -1.0) if world.hedged else None
    else:  # Box–Muller on two of the market's own uniforms
        radius, angle = box_muller(u[_MID], u[_MID2])
        shock = radius * np.cos(angle)
        orthogonal = radius * np.sin(angle) if world.hedged else None
    return StepNoise(u[_BID : _ASK + 1], shock, orthogonal, u[_REGIME] if world.n_regimes > 1 else None)


# The sign of the inventory a fill on each side moves toward the limit (a bid fill buys, an ask fill sells), as
# a column over the (2, n) sides.
_SIDE_SIGN = np.array([[1], [-1]])
_SIDE_SIGN_ROW = _SIDE_SIGN[:, 0]  # over the (2,) sides of one unbatched market
_ZERO = np.array(0.0)  # an array operand: numpy converts a Python float on every call


def step(
    world: World, state: MarketState, quotes: Action, noise: StepNoise | None = None
) -> tuple[MarketState, StepOutcome]:
    """Advance every market by one step of ``dt`` under the action; returns the new state and the outcome.

    ``noise``: the step's noise when the caller drew it ahead (``step_noise`` of ``step_uniforms``, ``.at``);
    by default drawn here. Markets already at the close must be reset first.
    """
    if noise is None:
        noise = step_noise(world, uniforms(state.key, state.episode, state.step, stream_count(world)))
    q = state.inventory
    # Both sides at once, as (2, n) rows (row 0 the bid, row 1 the ask): few calls at one market, and
    # contiguous rows at many.
    if q.ndim:
        offset, quoted = np.ascontiguousarray(quotes.offset.T), quotes.quoted.T
        side_intensity, side_sign = world.side_intensity, _SIDE_SIGN
    else:  # one unbatched market: the sides are a (2,) row
        offset, quoted = quotes.offset, quotes.quoted
        side_intensity, side_sign = world.side_intensities, _SIDE_SIGN_ROW
    probability = quote_fill_probability(world, side_intensity, offset)
    # The side that would take |q| past Q never fills.
    open_ = quoted & (side_sign * q < world.max_inventory)
    fills = (open_ & (noise.arrival < probability)).astype(np.int64)
    bid_fills, ask_fills = fills[0], fills[1]
    net_sold = ask_fills - bid_fills
    inventory = q - net_sold
    # World constants meet integer counts as numpy floats: a Python float times a numpy integer scalar (one
    # unbatched market) takes numpy's generic path, ten times slower; the values are the same.
    fees = np.float64(world.fee) * (bid_fills + ask_fills)
    captured = fills * offset
    spread_captured = captured[0] + captured[1]
    # The fills' cash less its expectation given the quotes (a pulled side, maybe at +inf, expects nothing).
    open_probability = np.where(open_, probability, _ZERO)
    expected = open_probability * (offset - world.fee)
    fill_noise = spread_captured - fees - (expected[0] + expected[1])
    cash = state.cash + ask_fills * (state.mid + offset[1]) - bid_fills * (state.mid - offset[0]) - fees

    sigma = regime_sigma(world, state.regime)
    jump = np.float64(world.adverse_jump) * net_sold
    mid_change = sigma * world.sqrt_dt * noise.shock + jump
    mid = state.mid + mid_change

    new_step = state.step + 1
    terminated = new_step >= world.n_steps
    inventory_pnl = inventory * mid_change
    if world.hedged:
        hedge = _hedge_leg(world, state, quotes.hedge, sigma, noise)
        outlay = hedge.trade * state.hedge_mid
        outlay += hedge.cost
        if world.hedge_ticket_fee:
            ticket = np.float64(world.hedge_ticket_fee) * (hedge.trade != 0)
            outlay += ticket
            fees = fees + ticket
        cash = cash - outlay
    else:
        hedge = _NO_HEDGE
    # inventory_penalty, with the rate kept for the penalty's expectation given the quotes: the fills are
    # independent Bernoulli draws and q' enters the risk with weight 1, so E[risk] = risk(E[q']) + Σ_sides p·(1 − p).
    rate = penalty_rate(world, state.regime, terminated)
    penalty = rate * penalized_risk(world, inventory, hedge.position)

    def expected_penalty() -> np.ndarray:
        fill_variance = open_probability * (1.0 - open_probability)
        mean_inventory = q + open_probability[0] - open_probability[1]
        return rate * (penalized_risk(world, mean_inventory, hedge.position) + fill_variance[0] + fill_variance[1])

    if world.hedged:
        reward = spread_captured + inventory_pnl
        reward += hedge.pnl
        reward -= fees
        reward -= hedge.cost
        reward -= penalty
    else:
        reward = spread_captured + inventory_pnl - fees - penalty

    regime = state.regime
    if world.n_regimes > 1:
        regime = draw_regime(np.cumsum(world.regime_step_transition, axis=1)[regime], noise.switch)
    fill_imbalance = state.fill_imbalance
    if "fill_imbalance" in world.observed_features:
        fill_imbalance = (1 - IMBALANCE_WEIGHT) * fill_imbalance - IMBALANCE_WEIGHT * net_sold
    # Positional, in field order (the names match the fields): keywords cost three times as much at one market.
    new_state = MarketState(
        mid,
        cash,
        inventory,
        new_step,
        regime,
        state.key,
        state.episode,
        mid_change,  # mid_return
        bid_fills,  # bid_filled
        ask_fills,  # ask_filled
        fill_imbalance,
        hedge.mid,
        hedge.position,
    )
    outcome = StepOutcome(
        reward,
        terminated,
        bid_fills,
        ask_fills,
        spread_captured,
        inventory_pnl,
        inventory * jump,  # jump_pnl
        penalty,
        fees,
        fill_noise,
        expected_penalty,
        hedge.trade,
        hedge.cost,
        hedge.pnl,
    )
    return new_state, outcome


@dataclasses.dataclass(slots=True)
class _HedgeLeg:
    """The hedge leg's part of a step; only ``position`` and ``mid`` (both ``None``) without a hedge instrument."""

    position: np.ndarray | None
    mid: np.ndarray | None
    trade: np.ndarray | None = None
    cost: np.ndarray | None = None
    pnl: np.ndarray | None = None


_NO_HEDGE = _HedgeLeg(position=None, mid=None)


def _hedge_leg(
    world: World,
    state: MarketState,
    requested: np.ndarray | None,
    sigma: np.ndarray | float,
    noise: StepNoise,
) -> _HedgeLeg:
    """The hedge trade (``feasible_hedge_trade``), its cost and the hedge position's revaluation."""
    if requested is None:
        trade = np.zeros_like(state.hedge_position)[()]
    else:
        trade = feasible_hedge_trade(world, requested, state.hedge_position)
    position = state.hedge_position + trade
    cost = hedge_trade_cost(world, trade)
    rho = world.hedge_correlation
    scale = sigma * (world.hedge_sigma / world.sigma * world.sqrt_dt)
    if world.n_regimes > 1:
        mid_change = scale * (rho * noise.shock + np.sqrt(1.0 - rho * rho) * noise.orthogonal)
    else:  # scalar coefficients: two multiplies and an add over the markets
        mid_change = (scale * rho) * noise.shock
        mid_change += (scale * np.sqrt(1.0 - rho * rho)) * noise.orthogonal
    return _HedgeLeg(position, state.hedge_mid + mid_change, trade, cost, position * mid_change)


def draw_regime(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw per market from cumulative probabilities: one row ``(k,)``, or one per market
    ``(*markets, k)``; ``u`` of the markets' shape."""
    return np.minimum((u[..., None] >= cumulative).sum(axis=-1), cumulative.shape[-1] - 1)
