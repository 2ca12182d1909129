"""The batched market core: pure numpy over ``n`` independent books of one ``envs.market.Market``, any number of
quoted assets and hedge instruments, no Gymnasium import.

One step, for every book at once (A–S 2008 §4's simulation, generalized), as short phases:

1. ``_hedge`` — the maker trades ``u_j`` lots of each hedge instrument (asked for, then clipped to ``±U_j`` and to
   ``|x_j + u_j| ≤ Q_j``) at its start-of-step mid, paying ``ψ_j·|u_j| + η_j·u_j²/dt`` plus the ticket fee if
   ``u_j ≠ 0`` (``hedge_cost``);
2. ``_fill`` — each asset is quoted at ``s_i − δ_i^b`` and ``s_i + δ_i^a`` (either side may be pulled); each quoted
   side fills at most one request, with the fill rule's chance at ``λ_side·f_i(δ)`` (``Asset.side_intensities``,
   ``Asset.fill_shape``), its size z drawn from the asset's ladder (under the per-size quote rule each size has its
   own quote, and a side fills z with ``p_z·π(δ_z)``); a fill that would take ``|q_i|`` past ``Q_i`` is refused; cash and inventory settle the fills at the quoted prices, less the asset's fee per lot;
3. ``_move_mids`` — the mids move by ``μ·dt + s_r·σ·√dt·(L·ε)``, ε independent standard normals (``±1`` under the
   binomial mid), L the Cholesky factor of the correlation (so the first asset moves by ``s_r·σ√dt·ε₁``), ``s_r``
   the current regime's volatility scale; each quoted asset's mid also jumps ``ξ·(ask lots − bid lots)`` against
   the maker (adverse selection);
4. ``_penalty`` — the reward is the change in wealth marked to the mids, less fees and hedge costs, minus
   ``(φ_r·dt + α·[close])·xᵀRx`` (x every position after the step, ``R = Σ/σ₁²``: ``q²`` for one asset);
5. the regime switches with the chain's one-step transition matrix; with informed flow (``Market.flow``) the
   maker's belief over the hidden flow state is filtered from the step's public prints and mids' moves
   (``envs.flow``), and the flow state switches with its chain's.

With informed flow, the flow state tilts each side's intensity (``λ_side·(1 ∓ ζz)``) and drifts the quoted mids
(``μ·z·dt``) in phases 2 and 3.

Layout: the markets have a shape M, ``(n,)`` for a batch or ``()`` for one unbatched book, which the single env
steps at a fraction of a one-book batch's per-call cost (numpy scalars and short rows; the code is the same, by
broadcasting). Per-book values are ``M``, per-asset values ``(d, *M)``, per-hedge values ``(m, *M)`` and a quote's
values ``(2, d, *M)``, side 0 the bid and side 1 the ask.

Randomness is counter-based: each book owns a 64-bit key, and the uniform for (episode, step, stream) is the
splitmix64 output at that counter. Per step: one uniform per side and asset (each asset's bid, then each asset's
ask; it decides the fill and, rescaled below the fill chance, the size), two per pair of standard normals
(Box–Muller: one per instrument's mid shock and, with informed flow, one that drives the flow state's switch; one
uniform per instrument under the binomial mid) and one for the regime switch in a market with regimes. The opening
inventories, regime and flow state are drawn at step ``n_steps``, a counter no trading step uses. A book's draws
depend only on its own key, so one column of a batch equals a single book seeded alike, and two policies run on
the same keys face the same requests and mid shocks (common random numbers).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.special

from envs import flow as flow_filter
from envs.heap import hold_heap
from envs.market import FILL_DTYPE, Market

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE_BITS = np.uint64(0x3FF0000000000000)
# The counter is episode (bits 32+), step (bits 8–31) and stream (bits 0–7): 255 streams per step.
MAX_STREAMS = 255
_STREAM_OFFSETS = np.arange(1, MAX_STREAMS + 1, dtype=np.uint64) * _GOLDEN
_BLOCK_BYTES = 64 * 1024
# Weight of the latest step in the exponentially-weighted averages the state keeps (fill imbalance, flow signals).
IMBALANCE_WEIGHT = 0.1
_ZERO = np.float64(0.0)


@dataclasses.dataclass(slots=True)
class MarketState:
    """State of the books (the module's layout): ``mid`` [price], ``inventory`` [lots, int64], ``mid_return`` (the
    last step's mid change) [price], ``bid_filled`` and ``ask_filled`` (the last step's fills) [lots, int32] are
    ``(d, *M)``;
    ``hedge_mid`` [price] and ``hedge_position`` [lots] ``(m, *M)``; ``fill_imbalance`` ``(d, *M)``, the EWMA of
    bid − ask lots filled, or ``None`` where not tracked (``reset``); the rest ``M``. With informed flow
    (``Market.flow``), ``flow`` ``M`` is the hidden flow state's index (never observed), ``belief`` ``(S, *M)`` the
    maker's filtered law of the coming step's state (``envs.flow``) where tracked (``reset``); ``prints`` ``(2, d, *M)`` (bool) are the last
    step's public prints (true where a request arrived at the side, filled or not), tracked with informed flow or when asked
    for (``reset``), else ``None``; ``print_imbalance`` and ``mid_trend`` ``(d, *M)``, where asked for, the EWMAs of
    sells − buys printed and of the mid's moves [price] (public flow signals)."""

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
    hedge_mid: np.ndarray
    hedge_position: np.ndarray
    fill_imbalance: np.ndarray | None = None
    flow: np.ndarray | None = None
    prints: np.ndarray | None = None
    belief: np.ndarray | None = None
    print_imbalance: np.ndarray | None = None
    mid_trend: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """The books' shape M: ``(n,)``, or ``()`` for one unbatched book."""
        return self.cash.shape

    @property
    def wealth(self) -> np.ndarray:
        """Cash plus every position marked to its mid [price], ``M``."""
        wealth = self.cash + _dot_rows(self.inventory, self.mid)
        if len(self.hedge_position):
            wealth = wealth + _dot_rows(self.hedge_position, self.hedge_mid)
        return wealth

    @property
    def positions(self) -> np.ndarray:
        """``(d + m, *M)`` [lots]: the inventories, then the hedge positions."""
        return np.concatenate([self.inventory, self.hedge_position])


@dataclasses.dataclass(slots=True)
class Action:
    """The maker's action in one step, in the core's layout: ``offset`` ``(2, d, *M)``, each quote's distance from
    the mid [price, finite]; ``quoted`` ``(2, d, *M)`` bool, false where the side is pulled (it never fills), or
    ``None`` (every side quoted); ``hedge`` ``(m, *M)`` the trade asked for in each hedge [lots, int64, positive
    buys], or ``None`` (no trade). Under the per-size quote rule (``Market.quote_rule``), ``per_size``
    ``(l, 2, d, *M)`` holds each size's quote [price, ``+inf`` pulled] and the fills read it; ``offset`` and
    ``quoted`` then hold each side's representative quote (``size_quotes``)."""

    offset: np.ndarray
    quoted: np.ndarray | None = None
    hedge: np.ndarray | None = None
    per_size: np.ndarray | None = None

    @classmethod
    def quotes(cls, bid: np.ndarray, ask: np.ndarray, hedge: np.ndarray | None = None) -> Action:
        """From per-side offsets ``(*M, d)`` [price; ``+inf`` pulls the side] and hedge trades ``(*M, m)`` [lots],
        the layout policies produce."""
        offset = np.stack(np.broadcast_arrays(np.asarray(bid, np.float64), np.asarray(ask, np.float64)))
        offset = np.ascontiguousarray(np.moveaxis(offset, -1, 1))
        quoted = np.isfinite(offset)
        if quoted.all():
            quoted = None
        else:
            offset = np.where(quoted, offset, 0.0)
        return cls(offset, quoted, _hedge_rows(hedge))

    @classmethod
    def size_quotes(
        cls, bid: np.ndarray, ask: np.ndarray, probabilities: np.ndarray, hedge: np.ndarray | None = None
    ) -> Action:
        """From per-size offsets ``(*M, d, l)`` [price; ``+inf`` pulls that size's quote], the ladders'
        probabilities ``(d, l)`` (``Market.size_table``) and hedge trades ``(*M, m)`` [lots]. Each side's
        representative quote (``offset``, ``quoted``: what the metrics read) is the probability-weighted mean of its
        quoted sizes' offsets, pulled where none is quoted."""
        sizes = np.stack(np.broadcast_arrays(np.asarray(bid, np.float64), np.asarray(ask, np.float64)))
        return cls.of_sizes(np.moveaxis(sizes, (-1, -2), (0, 2)), probabilities, _hedge_rows(hedge))

    @classmethod
    def of_sizes(cls, per_size: np.ndarray, probabilities: np.ndarray, hedge: np.ndarray | None = None) -> Action:
        """From per-size quotes in the core's layout ``(l, 2, d, *M)`` [price, ``+inf`` pulled] and hedge trades
        ``(m, *M)``; the representative quotes as ``size_quotes``."""
        per_size = np.ascontiguousarray(per_size, dtype=np.float64)
        quoted = np.isfinite(per_size)
        layout = (per_size.shape[0], 1, per_size.shape[2]) + (1,) * (per_size.ndim - 3)
        weights = np.where(quoted, np.asarray(probabilities, np.float64).T.reshape(layout), 0.0)
        total = weights.sum(axis=0)
        offset = (weights * np.where(quoted, per_size, 0.0)).sum(axis=0) / np.where(total > 0, total, 1.0)
        side_quoted = total > 0
        return cls(offset, None if side_quoted.all() else side_quoted, hedge, per_size)


def policy_action(market: Market, bid: np.ndarray, ask: np.ndarray, hedge: np.ndarray | None = None) -> Action:
    """The core's ``Action`` from a batch's quotes as policies give them: per side ``(n, d)``, or under the per-size
    rule (``Market.quote_rule``) per size ``(n, d, l)``, l = ``Market.quote_buckets`` [price, ``+inf`` pulled]
    (a side given per side quotes every size alike); hedge trades ``(n, m)`` [lots]."""
    if np.ndim(bid) < 3 and np.ndim(ask) < 3:
        return Action.quotes(bid, ask, hedge)
    buckets = market.quote_buckets
    if buckets == 1:
        raise ValueError(
            "per-size quotes (n, d, l) need a market with quote_rule 'per_size' and a size ladder of l > 1 sizes; "
            f"this market quotes one offset per side (quote_rule {market.quote_rule!r}): give quotes (n, d)"
        )
    sides = [np.asarray(side, np.float64) for side in (bid, ask)]
    sides = [side if side.ndim == 3 else side[..., None] for side in sides]
    if any(side.shape[-1] not in (1, buckets) for side in sides):
        raise ValueError(
            f"per-size quotes must have a last dimension of {buckets} (one per size of the longest ladder); got "
            f"{[side.shape for side in sides]}"
        )
    sides = [np.broadcast_to(side, side.shape[:-1] + (buckets,)) for side in sides]
    return Action.size_quotes(*sides, market.size_table[1], hedge)


def _hedge_rows(hedge: np.ndarray | None) -> np.ndarray | None:
    """Hedge trades ``(*M, m)`` in the core's layout ``(m, *M)`` [lots, int64]."""
    if hedge is None:
        return None
    return np.ascontiguousarray(np.moveaxis(np.asarray(hedge, dtype=np.int64), -1, 0))


@dataclasses.dataclass(slots=True)
class StepOutcome:
    """What one step produced, per book ``M`` [price] unless noted; ``bid_fills`` and ``ask_fills`` ``(d, *M)``
    [lots, int32]; ``hedge_trade`` ``(m, *M)`` [lots, as executed] (``None``, and ``hedge_cost`` and ``hedge_pnl`` too,
    in a market without hedges). ``hedge_cost`` holds the ticket fees; ``fees`` those paid per lot filled."""

    reward: np.ndarray
    terminated: np.ndarray
    bid_fills: np.ndarray
    ask_fills: np.ndarray
    spread_captured: np.ndarray
    inventory_pnl: np.ndarray
    penalty: np.ndarray
    fees: np.ndarray
    hedge_trade: np.ndarray | None
    hedge_cost: np.ndarray | None
    hedge_pnl: np.ndarray | None
    fill_offset: np.ndarray  # (2, d, *M) [price]: the offset a side's fill was paid at (its size's, per size); read it
    # only times the fills: where a side did not fill it holds an unfilled quote
    # Evaluated only when read (a third of a step's cost at 10,000 books): every position's diffusive revaluation,
    # the fills' cash less its expectation given the quotes, and the penalty's expectation given the quotes.
    _reduction: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]

    @property
    def diffusion_pnl(self) -> np.ndarray:
        """Every position's revaluation by the mids' diffusive shocks, ``xᵀ·(ΔS − drifts − jumps)`` [price]: mean zero
        given the past."""
        return self._reduction()[0]

    @property
    def fill_noise(self) -> np.ndarray:
        """The fills' cash (spread captured − fees) less its expectation given the quotes [price]."""
        return self._reduction()[1]

    @property
    def variance_reduced_reward(self) -> np.ndarray:
        """The reward with the diffusive revaluations replaced by their mean, zero, the fills' cash (spread captured
        less fees) by its expectation given the quotes, ``Σ_columns chance·E[z·fits]·(δ − fee)``, and the penalty by
        its expectation given the quotes, ``rate·(risk(E[x']) + Σ_i R_ii·Var(q'_i))`` (the sides' fills are
        independent; at the close, whether a last quote fills would decide ``α·risk``).

        Same expected objective (the mids are martingales given the fills up to the drift, which stays, and each
        step's expected fill cash is known given the state and the quotes: a Rao–Blackwellized reward), far less
        noise; the fills themselves, and so the inventory and every later reward, are the realized ones."""
        diffusion_pnl, fill_noise, expected_penalty = self._reduction()
        return self.reward - diffusion_pnl - fill_noise + self.penalty - expected_penalty


def uniforms(key: np.ndarray, episode: np.ndarray, step: np.ndarray, n_streams: int) -> np.ndarray:
    """Uniforms in [0, 1) of shape ``(n_streams, *M)``: splitmix64 at counter (episode, step, stream),
    ``n_streams`` ≤ ``MAX_STREAMS``."""
    if np.ndim(key) == 0:  # one unbatched book: hashed as a batch of one (numpy scalars warn on wrap-around)
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


def fill_probability(market: Market, intensity: np.ndarray | float, shape: np.ndarray | float = 1.0) -> np.ndarray:
    """Probability that a quote fills within one step, given its side's intensity λ [1/time] and the fill curve's
    value ``f(δ)`` at its offset (``market``: anything with a ``fill_rule`` and a ``dt``).

    ``"poisson"``: ``1 − e^(−λ·f·dt)``; ``"as2008"``: ``clip(λ·f·dt, 0, 1)`` (A–S 2008 §4); ``"arrival"``: a request
    arrives with ``1 − e^(−λ·dt)`` and fills the quote with ``min(f, 1)``.
    """
    if market.fill_rule == "arrival":
        return -np.expm1(intensity * -market.dt) * np.minimum(shape, 1.0)
    intensity = intensity * shape
    if market.fill_rule == "poisson":
        return -np.expm1(intensity * -market.dt)  # λ·(−dt) is exactly −(λ·dt), one array operation fewer
    return np.minimum(intensity * market.dt, 1.0)


def uniform_integers(u: np.ndarray, low, high) -> np.ndarray:
    """Integers drawn uniformly from ``low … high`` (inclusive, arguments broadcast) by uniforms ``u`` in [0, 1)."""
    return low + np.minimum((u * (high - low + 1)).astype(np.int64), high - low)


def round_to_lot(lots: np.ndarray, lot: np.ndarray | int) -> np.ndarray:
    """A signed amount [lots] rounded to whole multiples of ``lot`` (int64); arguments broadcast."""
    return np.rint(np.asarray(lots) / lot).astype(np.int64) * lot


def clip_trade(
    requested: np.ndarray, position: np.ndarray, max_trade: np.ndarray | int, max_position: np.ndarray | int
) -> np.ndarray:
    """The trade executed for a requested one [lots]: at most ``max_trade`` either way, and no further than
    keeps ``|position + trade| ≤ max_position``; arguments broadcast."""
    low, high = -max_position - position, max_position - position
    if isinstance(low, np.generic):  # one unbatched book: the builtins are ten times cheaper than ufuncs on scalars
        return np.int64(min(max(requested, low, -max_trade), high, max_trade))
    low = np.maximum(low, -max_trade)
    high = np.minimum(high, max_trade)
    return np.minimum(np.maximum(requested, low), high).astype(np.int64, copy=False)


def trade_cost(
    trade: np.ndarray,
    spread_cost: np.ndarray | float,
    impact: np.ndarray | float,
    dt: float,
    ticket_fee: float = 0.0,
) -> np.ndarray:
    """``ψ·|u| + η·u²/dt`` [price] for a trade of u lots, plus the ``ticket_fee`` [price, one number] where
    ``u ≠ 0``: the per-step form of ``L(v) = η·v² + ψ·|v|`` (Barzykin, Bergault & Guéant 2023); the other arguments
    broadcast."""
    size = np.abs(trade).astype(np.float64)
    cost = size * (spread_cost + (impact / dt) * size)
    return cost + ticket_fee * (trade != 0) if ticket_fee else cost


def chain_index_dtype(count: int) -> type:
    """The dtype of a chain's state index over ``count`` states: int8 (an eighth of int64's memory traffic in the
    step's gathers), int64 past 127 states."""
    return np.int8 if count <= 127 else np.int64


def draw_regime(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw per book from cumulative probabilities: one row ``(k,)``, or one per book ``(*M, k)``;
    ``u`` of the books' shape. The index's dtype is ``chain_index_dtype``."""
    count = cumulative.shape[-1]
    return np.minimum((u[..., None] >= cumulative).sum(axis=-1), count - 1).astype(chain_index_dtype(count))


def switch_state(cumulative: np.ndarray, state: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A Markov chain's next state per book, from the current ``state`` (``M``), its transition's cumulative
    rows ``(k, k)`` and uniforms ``u`` ``M``: ``draw_regime`` of each book's row (``next_state`` of its thresholds)."""
    return next_state([cumulative[:, column][state] for column in range(cumulative.shape[1] - 1)], u)


def next_state(thresholds: Sequence[np.ndarray], u: np.ndarray) -> np.ndarray:
    """The state each book's draw ``u`` falls in, given its row's thresholds (each ``M``: all but the last of its
    cumulative transition row): the count of thresholds at or below ``u``, of dtype ``chain_index_dtype``. The same
    with ``Φ⁻¹`` of the thresholds and standard normals for ``u``."""
    dtype = chain_index_dtype(len(thresholds) + 1)
    if len(thresholds) == 1:
        return (u >= thresholds[0]).astype(dtype)
    following = np.add(u >= thresholds[0], u >= thresholds[1], dtype=dtype)
    for threshold in thresholds[2:]:
        following += u >= threshold
    return following


def box_muller(u_radius: np.ndarray, u_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polar form of two independent standard normals from two uniforms: ``(radius, angle)``, the normals
    being ``radius·cos(angle)`` and ``radius·sin(angle)`` (Box & Muller 1958).

    The angle is float32: numpy vectorizes float32 cos and sin, ten times faster, and the normals keep ~7 digits."""
    return np.sqrt(-2.0 * np.log1p(-u_radius)), (2.0 * np.pi * u_angle).astype(np.float32)


def _dot_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Σ_i a_i·b_i`` over the leading axis of two ``(k, *M)`` arrays, row by row."""
    total = a[0] * b[0]
    for i in range(1, len(a)):
        total += a[i] * b[i]
    return total


def _quote_sum(quotes: np.ndarray) -> np.ndarray:
    """The sum of a ``(2, d, *M)`` quote array over its sides and assets [``M``], entry by entry."""
    total = quotes[0, 0] + quotes[1, 0]
    for i in range(1, quotes.shape[1]):
        total += quotes[0, i]
        total += quotes[1, i]
    return total


def _quote_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``_quote_sum(a * b)`` of two ``(2, d, *M)`` quote arrays, bit for bit, without their ``(2, d, *M)`` product:
    a book's row at a time."""
    total = a[0, 0] * b[0, 0]
    total += a[1, 0] * b[1, 0]
    for i in range(1, a.shape[1]):
        total += a[0, i] * b[0, i]
        total += a[1, i] * b[1, i]
    return total


def _row_sum(rows: np.ndarray) -> np.ndarray:
    """The sum over the leading axis of a ``(k, *M)`` array, row by row (cheaper than ``.sum(0)`` for one book)."""
    total = rows[0]
    for i in range(1, len(rows)):
        total = total + rows[i]
    return total


@dataclasses.dataclass(frozen=True)
class _Terms:
    """A market's constants in the core's layout for books of ``ndim`` dimensions (trailing unit axes), looked up
    once per market (``_terms``); ``(d, 1…)`` and ``(m, 1…)`` entries are numpy scalars for one asset or hedge."""

    poisson: bool  # the fill rule is "poisson"
    arrival: bool  # the fill rule is "arrival"
    step_intensity: np.ndarray  # (2, d, 1…) λ_side·dt, negated under the poisson rule; the print chance under arrival
    n_assets: int
    n_hedges: int
    one_instrument: bool
    max_inventory: np.ndarray  # (d, 1…) [lots]
    negative_max_inventory: np.ndarray
    side_sign: np.ndarray  # (2, 1, 1…): +1 the bid (a fill buys), −1 the ask
    limits: np.ndarray  # (d,) [lots]
    exponential: np.ndarray | None  # (d, 1…) bool where curves mix; None where all are one kind
    negative_decay: np.ndarray  # (d, 1…) −k [1/price]
    shift: np.ndarray  # (d, 1…) α
    slope: np.ndarray  # (d, 1…) β [1/price]
    all_exponential: bool
    fee: np.ndarray | None  # (d, 1…) [price/lot]; None where every fee is 0
    jump: np.ndarray | None  # (d, 1…) ξ [price/lot]; None where every ξ is 0
    ladders: (
        tuple | None
    )  # per asset (sizes, cumulative without its last entry, p_z·z, p_z·z², p_z); None: every size 1
    loading: np.ndarray  # (k, k) σ·√dt·L, instruments quoted assets first
    unit_loading: np.float64  # its first entry, σ₁·√dt
    drift: np.ndarray | None  # (k, 1…) μ·dt [price]; None where every μ is 0
    scales: np.ndarray | None  # (regimes,) volatility scales; None with one regime
    running: np.ndarray  # (regimes,) φ_r·dt [price/lot²]
    terminal: np.float64  # α [price/lot²] (a numpy scalar: a Python float times a numpy bool is ten times slower)
    risk: Callable[..., np.ndarray]  # xᵀRx [lots² of the first asset] of every position's row (``risk_form``)
    # xᵀRx of whole positions within their limits, times the penalty's rate where it is constant (one regime, no
    # terminal penalty) in a market of two instruments or more (``position_risk``)
    position_risk: Callable[..., np.ndarray]
    risk_includes_rate: bool
    risk_diagonal: np.ndarray  # (d, 1…) R_ii of the quoted assets
    cumulative_transition: np.ndarray | None  # (regimes, regimes)
    flow: flow_filter.FlowEvidence | None  # None without informed flow (one flow state)
    flow_table: np.ndarray | None  # (2d + S, S) per flow state: ``_flow_table``
    # Per hedge, numpy scalars: max_trade and max_position [lots], spread_cost ψ [price/lot], impact η [price·time/lot²]
    # and ticket_fee [price].
    hedges: tuple[tuple[np.int64, np.int64, np.float64, np.float64, np.float64], ...]


# A market's terms by (id, ndim), the market kept beside them so that its id cannot be reused while cached: hashing
# a market (its every field) would cost a tenth of one unbatched step.
_TERMS: dict[tuple[int, int], tuple[Market, _Terms]] = {}
_TERMS_KEPT = 64


def _terms(market: Market, ndim: int) -> _Terms:
    entry = _TERMS.get((id(market), ndim))
    if entry is not None and entry[0] is market:
        return entry[1]
    if len(_TERMS) >= _TERMS_KEPT:
        _TERMS.clear()
    terms = _market_terms(market, ndim)
    _TERMS[id(market), ndim] = (market, terms)
    return terms


def _market_terms(market: Market, ndim: int) -> _Terms:
    d = market.n_assets
    pad = (1,) * ndim

    # One asset's constants are numpy scalars: they broadcast alike, and a scalar operand is far
    # cheaper than a one-element array at one unbatched book.
    def per_asset(name: str) -> np.ndarray:
        column = market.column(name)
        return column[0] if d == 1 else column.reshape((d,) + pad)

    curves = [asset.fill_curve == "exponential" for asset in market.assets]
    fee, jump = per_asset("fee"), per_asset("adverse_jump")
    drift = market.instrument_column("drift") * market.dt
    ladders = None
    if any(asset.sizes != (1,) for asset in market.assets):
        ladders = tuple(
            (
                np.array(asset.sizes, dtype=np.int64),
                np.cumsum(asset.size_probabilities)[:-1],
                np.array(asset.sizes) * np.array(asset.size_probabilities),
                np.array(asset.sizes) ** 2 * np.array(asset.size_probabilities),
                np.array(asset.size_probabilities),
            )
            for asset in market.assets
        )
    loading = market.triangular_loading * (market.instrument_column("sigma") * math.sqrt(market.dt))[:, None]
    side_intensity = np.array([asset.side_intensities for asset in market.assets]).T.reshape((2, d) + pad)
    if market.fill_rule == "arrival":
        step_intensity = -np.expm1(-side_intensity * market.dt)
    else:
        step_intensity = (-1.0 if market.fill_rule == "poisson" else 1.0) * market.dt * side_intensity
    evidence = flow_filter.flow_evidence(market) if market.flow.count > 1 else None
    running_rate = market.running_penalty_levels[0] * market.dt
    constant_rate = market.n_instruments > 1 and market.regimes.count == 1 and not market.penalty.terminal
    return _Terms(
        poisson=market.fill_rule == "poisson",
        arrival=market.fill_rule == "arrival",
        step_intensity=step_intensity,
        n_assets=d,
        n_hedges=market.n_hedges,
        one_instrument=market.n_instruments == 1,
        max_inventory=per_asset("max_inventory").astype(np.int64),
        negative_max_inventory=-per_asset("max_inventory").astype(np.int64),
        side_sign=np.array([1, -1]).reshape((2, 1) + pad),
        limits=market.column("max_inventory").astype(np.int64),
        exponential=None if all(curves) or not any(curves) else np.array(curves).reshape((d,) + pad),
        negative_decay=-per_asset("fill_decay"),
        shift=per_asset("fill_shift"),
        slope=per_asset("fill_slope"),
        all_exponential=all(curves),
        fee=fee if fee.any() else None,
        jump=jump if jump.any() else None,
        ladders=ladders,
        loading=loading,
        unit_loading=loading[0, 0],
        drift=(drift[0] if drift.size == 1 else drift.reshape(drift.shape + pad)) if drift.any() else None,
        scales=np.asarray(market.regimes.scales, dtype=np.float64) if market.regimes.count > 1 else None,
        running=market.running_penalty_levels * market.dt,
        terminal=np.float64(market.penalty.terminal),
        risk=risk_form(market.risk_matrix),
        position_risk=position_risk(market, running_rate if constant_rate else 1.0),
        risk_includes_rate=constant_rate,
        risk_diagonal=np.diagonal(market.risk_matrix)[0]
        if d == 1
        else np.diagonal(market.risk_matrix)[:d].reshape((d,) + pad),
        cumulative_transition=np.cumsum(market.regime_step_transition, axis=1) if market.regimes.count > 1 else None,
        flow=evidence,
        flow_table=None if evidence is None else _flow_table(evidence),
        hedges=tuple(
            (
                np.int64(hedge.max_trade),
                np.int64(hedge.max_position),
                np.float64(hedge.spread_cost),
                np.float64(hedge.impact),
                np.float64(hedge.ticket_fee),
            )
            for hedge in market.hedges
        ),
    )


def _flow_table(evidence: flow_filter.FlowEvidence) -> np.ndarray:
    """What a step reads of each flow state, one column per state ``(2d + S, S)``, gathered once per step by the
    books' states: each side's and asset's chance of a print, the drift ``μ·z·dt`` [price], and ``Φ⁻¹`` of all but
    the last entry of the state's cumulative one-step transition (the thresholds of its switch's normal)."""
    d = evidence.print_chance.shape[1]
    thresholds = scipy.special.ndtri(np.cumsum(evidence.transition, axis=1)[:, :-1]).T
    return np.concatenate([evidence.print_chance.reshape(2 * d, -1), evidence.step_drift[None], thresholds])


def _fill_shape(terms: _Terms, offset: np.ndarray) -> np.ndarray:
    """``f_i(δ)`` of each quote (``Asset.fill_shape``, by rows) where some curve is logistic."""
    with np.errstate(over="ignore"):
        logistic = 1.0 / (1.0 + np.exp(terms.shift + terms.slope * offset))
    if terms.exponential is None:
        return logistic
    return np.where(terms.exponential, np.exp(terms.negative_decay * offset), logistic)


def stream_count(market: Market) -> int:
    """Uniforms drawn per book and step: one per side and asset, two per pair of standard normals (one per
    instrument and, with informed flow, one more for the flow state's switch; the binomial mid reads one uniform
    per instrument of the pairs' streams) and one for the regime switch in a market with regimes."""
    normals = market.n_instruments + (market.flow.count > 1)
    count = 2 * market.n_assets + 2 * ((normals + 1) // 2) + (market.regimes.count > 1)
    if count > MAX_STREAMS:
        raise ValueError(
            f"assets and hedges are too many for the core's {MAX_STREAMS} random streams a step (2 per asset, 1 per "
            "instrument and 1 for informed flow rounded up to a pair, 1 for regimes); got "
            f"{market.n_assets} assets and {market.n_hedges} hedges"
        )
    return count


def step_uniforms(market: Market, key: np.ndarray, episode: np.ndarray, first_step: int, steps: int) -> np.ndarray:
    """The uniforms of ``steps`` consecutive steps from ``first_step`` for books all at that step, shape
    ``(stream_count, steps, *M)``: entry ``[:, j]`` is exactly what ``step`` draws at ``first_step + j``.

    Drawn ahead in one vectorized call, they spare a small batch the per-step cost of the hash."""
    n = np.size(key)
    at = np.repeat(np.arange(first_step, first_step + steps, dtype=np.int64), n)
    draws = uniforms(np.tile(key, steps), np.tile(episode, steps), at, stream_count(market))
    return draws.reshape((-1, steps) + np.shape(key))


@dataclasses.dataclass(slots=True)
class StepNoise:
    """A step's randomness, from its uniforms (``step_noise``), over the books ``M`` or, drawn ahead, over steps
    and books ``(steps, *M)`` (``at`` picks one step): ``arrival`` ``(2, d, …)`` the uniforms each side's fill is
    drawn against; ``normals`` ``(d + m, …)`` the instruments' independent standard shocks (±1 under the binomial
    mid), before the correlation; ``switch`` the regime switch's uniform (``None`` with one regime) and
    ``flow_switch`` the standard normal of the flow state's (``None`` with one flow state)."""

    arrival: np.ndarray
    normals: np.ndarray
    switch: np.ndarray | None
    flow_switch: np.ndarray | None = None

    def at(self, j: int) -> StepNoise:
        """Step ``j`` of noise drawn ahead over steps."""
        return StepNoise(
            self.arrival[:, :, j],
            self.normals[:, j],
            None if self.switch is None else self.switch[j],
            None if self.flow_switch is None else self.flow_switch[j],
        )


def step_noise(market: Market, u: np.ndarray) -> StepNoise:
    """The noise of steps from their uniforms, ``(stream_count, ...)`` (``uniforms`` or ``step_uniforms``)."""
    d, k = market.n_assets, market.n_instruments
    arrival = u[: 2 * d].reshape((2, d) + u.shape[1:])
    if market.mid_process == "binomial":  # informed flow needs the Gaussian mid
        normals, drawn = np.where(u[2 * d : 2 * d + k] < 0.5, 1.0, -1.0), k
    else:  # Box–Muller on pairs of the book's own uniforms, one normal more with informed flow (its switch's)
        drawn = k + (market.flow.count > 1)
        pairs = (drawn + 1) // 2
        radius, angle = box_muller(u[2 * d : 2 * d + pairs], u[2 * d + pairs : 2 * d + 2 * pairs])
        if drawn == 1:
            normals = radius * np.cos(angle)
        else:  # normals 2p and 2p + 1 from pair p
            normals = np.empty((2 * pairs,) + u.shape[1:])
            np.multiply(radius, np.cos(angle), out=normals[0::2])
            np.multiply(radius, np.sin(angle), out=normals[1::2])
            normals = normals[:drawn]
    switch = u[2 * d + 2 * ((drawn + 1) // 2)] if market.regimes.count > 1 else None
    if market.flow.count > 1:
        return StepNoise(arrival, normals[:k], switch, normals[k])
    return StepNoise(arrival, normals, switch)


def reset(
    market: Market,
    key: np.ndarray,
    episode: np.ndarray,
    fill_imbalance: bool = False,
    prints: bool = False,
    flow_signals: bool = False,
    belief: bool = False,
) -> MarketState:
    """Open a session in every book at the assets' opening mids, their opening inventories (drawn uniformly where an
    asset gives a range), a regime and a flow state drawn from their chains' stationary laws, from the book's key at
    a counter no trading step uses (step ``n_steps``); ``fill_imbalance`` tracks the fills' EWMA, ``prints`` the
    public prints and ``flow_signals`` the EWMAs of the prints' imbalance and of the mids' moves (observation
    features), and with informed flow ``belief`` the maker's filtered belief, opening at the flow chain's stationary
    law (the filter, a third of an informed step's cost, runs only where asked for).

    ``key`` and ``episode`` (uint64) of the books' shape: ``(n,)``, or scalars for one unbatched book. A batch holds
    glibc's heap steady for the steps to come (``envs.heap``)."""
    stream_count(market)
    if np.ndim(key):
        hold_heap()
    key = np.array(key, dtype=np.uint64)[()]  # a copy; a numpy scalar for one unbatched book
    episode = np.array(np.broadcast_to(np.asarray(episode, dtype=np.uint64), np.shape(key)))[()]
    shape, d, m = np.shape(key), market.n_assets, market.n_hedges
    informed = market.flow.count > 1
    u = uniforms(key, episode, np.full(shape, market.n_steps)[()], d + 1 + informed)
    bounds = np.array([asset.inventory_bounds for asset in market.assets]).T.reshape((2, d) + (1,) * len(shape))
    inventory = uniform_integers(u[:d], bounds[0], bounds[1])

    def per(rows: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        return np.array(np.broadcast_to(rows.reshape(rows.shape + (1,) * len(shape)), rows.shape + shape), dtype)

    return MarketState(
        mid=per(market.column("s0")),
        cash=np.zeros(shape)[()],
        inventory=inventory,
        step=np.zeros(shape, dtype=np.int64)[()],
        regime=draw_regime(np.cumsum(market.stationary_regime_distribution), u[d]),
        key=key,
        episode=episode,
        mid_return=np.zeros((d,) + shape),
        bid_filled=np.zeros((d,) + shape, dtype=FILL_DTYPE),
        ask_filled=np.zeros((d,) + shape, dtype=FILL_DTYPE),
        hedge_mid=per(market.hedge_column("s0")),
        hedge_position=np.zeros((m,) + shape, dtype=np.int64),
        fill_imbalance=np.zeros((d,) + shape) if fill_imbalance else None,
        flow=draw_regime(np.cumsum(market.stationary_flow_distribution), u[d + 1]) if informed else None,
        prints=np.zeros((2, d) + shape, dtype=bool) if prints or flow_signals or (belief and informed) else None,
        belief=per(market.stationary_flow_distribution) if belief and informed else None,
        print_imbalance=np.zeros((d,) + shape) if flow_signals else None,
        mid_trend=np.zeros((d,) + shape) if flow_signals else None,
    )


def step(
    market: Market, state: MarketState, action: Action, noise: StepNoise | None = None
) -> tuple[MarketState, StepOutcome]:
    """Advance every book by one step of ``dt`` under the action; returns the new state and the outcome.

    ``noise``: the step's noise when the caller drew it ahead (``step_noise`` of ``step_uniforms``, ``.at``);
    by default drawn here. Books already at the close must be reset first, and every position must lie within its
    limit, as ``reset``, ``step`` and ``envs.close_starts`` keep them (the penalty looks whole positions up:
    ``position_risk``).
    """
    if noise is None:
        noise = step_noise(market, uniforms(state.key, state.episode, state.step, stream_count(market)))
    terms = _terms(market, state.cash.ndim)
    cash, hedge_position, trade, hedge_cost = state.cash, state.hedge_position, None, None
    if terms.n_hedges:
        cash, hedge_position, trade, hedge_cost = _hedge(market, terms, state, action.hedge)
    q = state.inventory
    flow_terms = None if terms.flow is None else np.take(terms.flow_table, state.flow, axis=-1, mode="wrap")
    lots, spread_captured, fill_moments, print_chance, offset = _fill(terms, q, action, noise.arrival, flow_terms)
    bid_lots, ask_lots = lots[0], lots[1]
    net_sold = ask_lots - bid_lots
    inventory = q - net_sold
    cash = cash + spread_captured
    cash += _dot_rows(net_sold, state.mid)  # the fills settle at the start-of-step mid, plus the offsets captured
    fees = None
    if terms.fee is not None:
        fees = _row_sum(terms.fee * (bid_lots + ask_lots))
        cash -= fees
    flow_drift = None if flow_terms is None else flow_terms[2 * terms.n_assets]  # μ_flow·z·dt [price]
    shocks, quoted_move, hedge_move = _move_mids(terms, state.regime, net_sold, noise.normals, flow_drift)
    inventory_pnl = _dot_rows(inventory, quoted_move)
    new_step = state.step + 1
    terminated = new_step >= market.n_steps
    rate = terms.running[state.regime] if terms.scales is not None else terms.running[0]  # phase 4, the penalty
    if terms.terminal:
        rate = rate + terms.terminal * terminated
    risk = terms.position_risk(*inventory, *hedge_position)
    penalty = risk if terms.risk_includes_rate else rate * risk
    reward = spread_captured + inventory_pnl
    if fees is not None:
        reward -= fees
    hedge_pnl = None
    if trade is not None:
        hedge_pnl = _dot_rows(hedge_position, hedge_move)
        reward += hedge_pnl
        reward -= hedge_cost
    reward -= penalty

    def reduction() -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # StepOutcome.variance_reduced_reward's terms
        positions = inventory if trade is None else np.concatenate([inventory, hedge_position])
        mean, variance, expected_cash = fill_moments()
        if expected_cash is None:  # one quote per side: E[lots·δ] = E[lots]·δ
            fill_noise = _quote_dot(lots - mean, offset if terms.fee is None else offset - terms.fee)
        else:
            fill_noise = _quote_sum(lots * offset - expected_cash)
            if terms.fee is not None:
                fill_noise = fill_noise - _quote_sum((lots - mean) * terms.fee)
        expected = terms.risk(*(q + mean[0] - mean[1]), *hedge_position)
        expected = rate * (expected + _row_sum(terms.risk_diagonal * (variance[0] + variance[1])))
        return _dot_rows(positions, shocks), fill_noise, expected

    regime = state.regime
    if terms.cumulative_transition is not None:
        regime = switch_state(terms.cumulative_transition, regime, noise.switch)
    imbalance = state.fill_imbalance
    if imbalance is not None:
        imbalance = (1 - IMBALANCE_WEIGHT) * imbalance - IMBALANCE_WEIGHT * net_sold
    prints, flow, belief = None, state.flow, state.belief
    if state.prints is not None:
        if print_chance is None:  # a quote through the mid may fill with more than a print's chance: a fill prints
            prints = (noise.arrival < _print_chance(terms)) | (lots > 0)
        else:  # the arrival rule: fills are drawn below the print's chance
            prints = noise.arrival < print_chance
    if terms.flow is not None:
        if belief is not None:
            belief = _filter(terms, state, prints, shocks, flow_drift)
        flow = next_state(flow_terms[2 * terms.n_assets + 1 :], noise.flow_switch)
    print_imbalance, mid_trend = state.print_imbalance, state.mid_trend
    if print_imbalance is not None:
        print_imbalance = (1 - IMBALANCE_WEIGHT) * print_imbalance + IMBALANCE_WEIGHT * (1.0 * prints[0] - prints[1])
        mid_trend = (1 - IMBALANCE_WEIGHT) * mid_trend + IMBALANCE_WEIGHT * quoted_move
    # Positional, in field order (the names match the fields): keywords cost three times as much at one book.
    new_state = MarketState(
        state.mid + quoted_move,
        cash,
        inventory,
        new_step,
        regime,
        state.key,
        state.episode,
        quoted_move,  # mid_return
        bid_lots,  # bid_filled
        ask_lots,  # ask_filled
        state.hedge_mid if trade is None else state.hedge_mid + hedge_move,
        hedge_position,
        imbalance,
        flow,
        prints,
        belief,
        print_imbalance,
        mid_trend,
    )
    outcome = StepOutcome(
        reward,
        terminated,
        bid_lots,
        ask_lots,
        spread_captured,
        inventory_pnl,
        penalty,
        (np.zeros(state.cash.shape) if state.cash.ndim else _ZERO) if fees is None else fees,
        trade,
        hedge_cost,
        hedge_pnl,
        offset,
        reduction,
    )
    return new_state, outcome


def _hedge(market: Market, terms: _Terms, state: MarketState, requested: np.ndarray | None) -> tuple:
    """Phase 1, the hedge trades: each trade asked for, clipped (``clip_trade``) and paid at the start-of-step mid
    plus its cost. Returns the cash after them, the hedge positions, the trades ``(m, *M)`` and their cost ``M``
    (with hedges only). Hedge by hedge: one unbatched book's rows are numpy scalars."""
    cash, cost, trades = state.cash, None, []
    for j, (max_trade, max_position, spread_cost, impact, ticket_fee) in enumerate(terms.hedges):
        held = state.hedge_position[j]
        trade = clip_trade(0 if requested is None else requested[j], held, max_trade, max_position)
        paid = trade_cost(trade, spread_cost, impact, market.dt, ticket_fee)
        cost = paid if cost is None else cost + paid
        cash = cash - trade * state.hedge_mid[j]
        trades.append(trade)
    trade = np.array(trades)
    return cash - cost, state.hedge_position + trade, trade, cost


def _fill(terms: _Terms, q: np.ndarray, action: Action, arrival: np.ndarray, flow_terms: np.ndarray | None) -> tuple:
    """Phase 2, the fills: each quoted side fills at most one request with the fill rule's chance (with informed
    flow, the print chances of each book's flow state lead ``flow_terms``, its columns of ``_flow_table``); its size
    is drawn from the ladder below the chance, and refused if it would take ``|q|`` past ``Q``. Returns the lots filled
    ``(2, d, *M)`` [``FILL_DTYPE``], the spread they captured ``Σ lots·δ`` ``M`` [price], a function of their mean
    and variance given the quotes (for the variance-reduced reward) and the chance a request arrives at each side under the arrival rule (``None`` under the others: ``_print_chance``), a
    public print drawn against the same uniform, so that a fill is a print; and the offsets the fills are paid at
    ``(2, d, *M)``. Under the per-size rule each size's quote has its own chance (``_ladder_fills``)."""
    per_size = action.per_size if terms.ladders is not None else None
    quotes = action.offset if per_size is None else per_size
    # fill_probability at λ_side·f(δ), with λ_side·dt folded into one constant; in place, one array throughout.
    if terms.all_exponential:
        shape = terms.negative_decay * quotes
        np.exp(shape, shape)
    else:
        shape = _fill_shape(terms, quotes)
    print_chance = None
    if terms.arrival:
        print_chance = terms.step_intensity
        if flow_terms is not None:
            print_chance = flow_terms[: 2 * terms.n_assets].reshape(print_chance.shape[:2] + flow_terms.shape[1:])
        chance = np.multiply(print_chance, np.minimum(shape, 1.0, out=shape), shape)
    elif terms.poisson:
        chance = np.multiply(terms.step_intensity, shape, shape)
        np.expm1(chance, chance)
        np.negative(chance, chance)
    else:
        chance = np.minimum(np.multiply(terms.step_intensity, shape, shape), 1.0, out=shape)
    if per_size is not None:
        lots, moments, paid = _size_fills(terms, q, chance, arrival, per_size)
        return lots, _quote_dot(lots, paid), moments, print_chance, paid
    if terms.ladders is not None:
        lots, moments = _ladder_fills(terms, q, chance, arrival, action.quoted)
        return lots, _quote_dot(lots, action.offset), moments, print_chance, action.offset
    # Every size 1: the side that would take |q| past Q never fills (the bid at q = Q, the ask at q = −Q).
    if q.ndim == 1:  # one unbatched book: one operation on its short rows
        open_ = terms.side_sign * q < terms.max_inventory
    else:  # a batch: each side compared in place, half the passes over the books
        open_ = np.empty(chance.shape, dtype=bool)
        np.less(q, terms.max_inventory, out=open_[0])
        np.greater(q, terms.negative_max_inventory, out=open_[1])
    if action.quoted is not None:
        open_ &= action.quoted
    filled = np.less(arrival, chance)
    filled &= open_

    def moments() -> tuple[np.ndarray, np.ndarray, None]:
        mean = np.where(open_, chance, 0.0)
        return mean, mean * (1.0 - mean), None

    # The spread from the fills' mask (one byte a quote, not the lots' four): 0 or 1 times each offset, exactly.
    spread = _quote_dot(filled.view(np.uint8), action.offset)
    return filled.astype(FILL_DTYPE), spread, moments, print_chance, action.offset


def _print_chance(terms: _Terms) -> np.ndarray:
    """The chance a request arrives at each side within a step under the poisson and as2008 rules, ``(2, d, 1…)``:
    the fill chance of a quote at the mid (``f = 1``)."""
    if terms.poisson:
        return -np.expm1(terms.step_intensity)
    return np.minimum(terms.step_intensity, 1.0)


def _filter(
    terms: _Terms, state: MarketState, prints: np.ndarray, shocks: np.ndarray, flow_drift: np.ndarray
) -> np.ndarray:
    """The maker's belief over the next step's flow state (``envs.flow``): this step's prior times the likelihood of
    its prints and of its mids' moves beyond their known parts (the diffusive shocks plus the flow's drift
    ``flow_drift``), then the chain's transition."""
    evidence = terms.flow
    # wᵀr with r the shocks plus the flow's drift on the quoted assets: Σ_i w_i·shock_i + (Σ_{i<d} w_i)·drift.
    alignment = _dot_rows(evidence.weights, shocks) + evidence.weights[: terms.n_assets].sum() * flow_drift
    scale = 1.0 if terms.scales is None else terms.scales[state.regime]
    log_likelihood = flow_filter.log_likelihood(evidence, prints, alignment, scale)
    return flow_filter.predict(evidence, flow_filter.posterior(state.belief, log_likelihood))


def _ladder_fills(
    terms: _Terms, q: np.ndarray, chance: np.ndarray, arrival: np.ndarray, quoted: np.ndarray | None
) -> tuple:
    """``_fill`` with size ladders, asset by asset (a size fits if it keeps ``|q| ≤ Q``)."""
    lots = np.zeros(chance.shape, dtype=FILL_DTYPE)
    mean, second = np.zeros(chance.shape), np.zeros(chance.shape)
    if quoted is not None:
        chance = np.where(quoted, chance, 0.0)
    for i, (sizes, cumulative, first_moment, second_moment, _) in enumerate(terms.ladders):
        limit = terms.limits[i]
        for side, room in ((0, limit - q[i]), (1, limit + q[i])):  # lots before ±Q
            u, p = arrival[side, i], chance[side, i]
            hit = u < p
            if cumulative.size:  # below the fill chance, u / chance is uniform on [0, 1): it picks the size
                size = sizes[np.searchsorted(cumulative, u / np.where(hit, p, 1.0), side="right")]
            else:
                size = sizes[0]
            lots[side, i] = (hit & (room >= size)) * size
            fits = np.asarray(room)[..., None] >= sizes
            mean[side, i] = p * (fits @ first_moment)
            second[side, i] = p * (fits @ second_moment)
    return lots, lambda: (mean, second - mean * mean, None)


def _size_fills(terms: _Terms, q: np.ndarray, chance: np.ndarray, arrival: np.ndarray, per_size: np.ndarray) -> tuple:
    """``_fill`` under the per-size rule: a side fills a request of size z with chance ``p_z·π(δ_z)``, ``π`` the
    fill rule's chance at that size's quote ``δ_z`` (``chance``, ``(l, 2, d, *M)``; 0 where pulled), the sizes laid
    end to end below the side's uniform (so that equal quotes draw as ``_ladder_fills`` does); a size is refused if
    it would take ``|q|`` past ``Q``. Returns the lots, their moments with the fills' expected cash ``E[lots·δ]``
    and the offsets the fills are paid at."""
    quoted = np.isfinite(per_size)
    chance = np.where(quoted, chance, 0.0)
    offsets = np.where(quoted, per_size, 0.0)
    shape = chance.shape[1:]
    lots, paid = np.zeros(shape, dtype=FILL_DTYPE), np.zeros(shape)
    mean, second, cash = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, (sizes, _, _, _, probabilities) in enumerate(terms.ladders):
        count = len(sizes)
        probability = probabilities.reshape((count,) + (1,) * (q.ndim - 1))
        limit = terms.limits[i]
        for side, room in ((0, limit - q[i]), (1, limit + q[i])):  # lots before ±Q
            weighted = probability * chance[:count, side, i]  # (count, *M): p_z·π(δ_z)
            total = weighted.sum(axis=0)
            u = arrival[side, i]
            hit = u < total
            # Below the side's chance, u / chance is uniform on [0, 1): the sizes' shares of it pick the size.
            share = np.cumsum(weighted[:-1], axis=0) / np.where(total > 0, total, 1.0)
            index = (share <= u / np.where(hit, total, 1.0)).sum(axis=0)
            size = sizes[index]
            filled = hit & (room >= size)
            lots[side, i] = filled * size
            paid[side, i] = np.take_along_axis(offsets[:count, side, i], index[None], axis=0)[0]
            fits = (np.asarray(room)[None] >= sizes.reshape((count,) + (1,) * (q.ndim - 1))) * weighted
            z = sizes.reshape(fits.shape[:1] + (1,) * (fits.ndim - 1))
            mean[side, i] = (fits * z).sum(axis=0)
            second[side, i] = (fits * z * z).sum(axis=0)
            cash[side, i] = (fits * z * offsets[:count, side, i]).sum(axis=0)
    return lots, lambda: (mean, second - mean * mean, cash), paid


def _move_mids(
    terms: _Terms, regime: np.ndarray, net_sold: np.ndarray, normals: np.ndarray, flow_drift: np.ndarray | None
) -> tuple:
    """Phase 3, the mids' move: ``μ·dt + s_r·σ·√dt·(L·ε)`` for every instrument, plus each quoted asset's adverse
    jump ``ξ·(ask lots − bid lots)`` and, with informed flow, its drift ``μ_flow·z·dt`` in the book's flow state.
    Returns the diffusive shocks ``(d + m, *M)`` and the quoted and hedge mids'
    changes, ``(d, *M)`` and ``(m, *M)`` (``None`` without hedges) [price]."""
    if terms.one_instrument:
        shocks = terms.unit_loading * normals
    elif normals.ndim == 1:  # one unbatched book
        shocks = terms.loading @ normals
    else:  # row by row, L lower-triangular (a matrix product's rounding would depend on the batch's size)
        shocks = np.empty(normals.shape)
        for i, row in enumerate(terms.loading):
            shock = np.multiply(row[0], normals[0], out=shocks[i])
            for j in range(1, i + 1):
                shock += row[j] * normals[j]
    if terms.scales is not None:
        shocks = shocks * terms.scales[regime]
    change = shocks if terms.drift is None else shocks + terms.drift
    d = terms.n_assets
    quoted, hedges = (change, None) if terms.n_hedges == 0 else (change[:d], change[d:])
    if terms.jump is not None:
        quoted = quoted + terms.jump * net_sold
    if flow_drift is not None:
        quoted = quoted + flow_drift
    return shocks, quoted, hedges


def risk_form(risk: np.ndarray) -> Callable[..., np.ndarray]:
    """Phase 4's ``xᵀRx`` [lots² of the first asset] as a function of the positions' rows (inventories, then hedge
    positions): row i contributes ``(R_ii·x_i + Σ_{j>i} 2R_ij·x_j)·x_i``; ``R₁₁ = 1`` (``Market.risk_matrix``)."""
    if risk.shape[0] == 1:
        return lambda x: x * x
    if risk.shape[0] == 2:  # one asset and one hedge, or two assets: a few operations on scalars or rows
        cross, square = np.float64(2.0 * risk[0, 1]), np.float64(risk[1, 1])
        return lambda x, y: x * x + (cross * x + square * y) * y
    rows = [(np.float64(risk[i, i]), 2.0 * risk[i, i + 1 :]) for i in range(risk.shape[0])]

    def form(*x: np.ndarray) -> np.ndarray:
        total = 0.0
        for i, (diagonal, off) in enumerate(rows):
            weighted = diagonal * x[i]
            for j, coefficient in enumerate(off, start=i + 1):
                weighted = weighted + coefficient * x[j]
            total = total + weighted * x[i]
        return total

    return form


# The most entries ``position_risk`` tabulates (512 KiB of float64).
_RISK_TABLE_ENTRIES = 1 << 16


def position_risk(market: Market, rate: float = 1.0) -> Callable[..., np.ndarray]:
    """``rate·xᵀRx`` (``risk_form`` of the market's risk matrix) for whole positions [lots, int64] within their limits
    (``|q_i| ≤ Q_i`` and each hedge's ``max_position``, as the core keeps them), rows as ``risk_form`` takes them; the
    rate [price/lot²] multiplies the form's values as the step would. With two instruments or more and at most
    ``_RISK_TABLE_ENTRIES`` positions, the values over every position (bit for bit) are looked up: a few integer
    operations and a gather in place of the form's products."""
    form = risk_form(market.risk_matrix)
    rate = np.float64(rate)
    limits = np.concatenate([market.column("max_inventory"), market.hedge_column("max_position")]).astype(np.int64)
    widths = 2 * limits + 1
    if len(limits) == 1 or np.prod(widths, dtype=np.float64) > _RISK_TABLE_ENTRIES:
        return form if rate == 1.0 else lambda *x: rate * form(*x)
    grid = np.indices(tuple(widths), dtype=np.int64) - limits.reshape((-1,) + (1,) * len(limits))
    table = (rate * form(*grid)).ravel()
    strides = [np.int64(np.prod(widths[i + 1 :])) for i in range(len(limits))]  # the last row's, 1, goes unused
    centre = np.int64(limits @ strides)

    def lookup(*x: np.ndarray) -> np.ndarray:
        index = x[-1] + centre
        for row, stride in zip(x[:-1], strides[:-1], strict=True):
            index = index + row * stride
        return table[index]

    return lookup
