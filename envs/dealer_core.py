"""The multi-asset core: ``n`` independent books of any ``envs.market.Market``, pure numpy, no Gymnasium import.

One step, for every book at once (``envs.core``'s step with an asset axis and a size ladder):

1. the dealer quotes each asset i at ``s_i − δ_i^b`` and ``s_i + δ_i^a`` (``+inf``: the side is pulled);
2. on each side of each asset at most one request fills, with probability given by the fill rule at
   intensity ``λ_side·f_i(δ)`` (``Market.fill_rule``; ``λ_bid = 2A·sell_share``, ``λ_ask = 2A·(1 − sell_share)``);
   its size z is drawn from the asset's ladder, and a fill that would take ``|q_i|`` past ``Q_i`` is refused;
3. cash and inventory settle the fills at the quoted prices, less the asset's fee per lot: a fill of z lots
   pays ``z·(δ − fee)``;
4. the mids move by ``μ·dt + s_r·σ·√dt·(L·ε)``, ε independent standard normals (``±1`` under the binomial mid),
   ``L·Lᵀ`` the correlation, ``s_r`` the current regime's volatility scale; each quoted asset's mid also jumps
   ``ξ·(ask lots − bid lots)`` against the dealer (adverse selection);
5. the reward is the change in wealth marked to the mids, less fees, minus ``(φ_r·dt + α·[close])·xᵀRx`` (x
   every position after the fills, ``R = Σ/σ₁²``, φ_r the regime's running penalty, α the terminal one);
6. the regime switches with the chain's one-step transition matrix.

With hedge instruments, at the start of the step the dealer also trades ``u_j`` lots of each (asked for,
then clipped to ``±U_j`` and to ``|x_j + u_j| ≤ Q₂_j``) at its start-of-step mid, paying
``ψ_j·|u_j| + η_j·u_j²/dt`` (plus the ticket fee if ``u_j ≠ 0``); their mids move with the quoted ones
(the same L over all instruments), and the reward adds their revaluation and subtracts the trading cost.

Randomness is ``envs.core``'s counter-based stream: per book and step, one uniform per side and asset (it
decides the fill, and, rescaled below the fill chance, the size), two per pair of mid shocks (Box–Muller,
over every instrument) and one for the regime switch in a market with regimes; the opening inventories and
regime are drawn at step ``n_steps``, a counter no trading step uses. So a column of a batch equals a book seeded alike and policies run on the same keys
face the same requests and mid shocks (common random numbers).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from envs.core import (
    MAX_STREAMS,
    box_muller,
    clip_trade,
    draw_regime,
    fill_probability,
    trade_cost,
    uniform_integers,
    uniforms,
)
from envs.market import Asset, Market

# A dealer's rule: (inventory (n, d), hedge_position (n, m), time_to_close (n,), regime (n,)) → (bid (n, d), ask (n, d),
# hedge trade (n, m) or None); ``baselines.dealer.DealerPolicy.act`` is one.
DealingRule = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray | None]
]


@dataclasses.dataclass
class DealerState:
    """State of ``n`` books: ``mid`` [price] and ``inventory`` [lots] are ``(n, d)``, ``hedge_mid`` [price] and
    ``hedge_position`` [lots] ``(n, m)`` (m = 0 without hedge instruments), the rest ``(n,)``."""

    mid: np.ndarray
    cash: np.ndarray
    inventory: np.ndarray
    step: np.ndarray
    key: np.ndarray
    episode: np.ndarray
    hedge_mid: np.ndarray
    hedge_position: np.ndarray
    regime: np.ndarray  # (n,) the volatility regime's index

    @property
    def wealth(self) -> np.ndarray:
        """Cash plus every position marked to its mid [price]."""
        wealth = self.cash + np.einsum("ni,ni->n", self.inventory, self.mid)
        if self.hedge_position.shape[1]:
            wealth = wealth + np.einsum("nj,nj->n", self.hedge_position, self.hedge_mid)
        return wealth

    @property
    def positions(self) -> np.ndarray:
        """``(n, d+m)`` [lots]: the inventories, then the hedge positions."""
        return np.concatenate([self.inventory, self.hedge_position], axis=1)


@dataclasses.dataclass
class DealerOutcome:
    """What one step produced: per book ``(n,)`` [price] unless noted; fills ``(n, d)`` [lots]."""

    reward: np.ndarray
    terminated: np.ndarray
    bid_fills: np.ndarray
    ask_fills: np.ndarray
    spread_captured: np.ndarray
    inventory_pnl: np.ndarray
    diffusion_pnl: np.ndarray  # every position's diffusive revaluation, the hedges' included
    penalty: np.ndarray
    fees: np.ndarray  # paid per lot filled, summed over the assets [price]
    fill_noise: np.ndarray  # the fills' cash (spread captured − fees) less its expectation given the quotes
    hedge_trade: np.ndarray  # (n, m) [lots], as executed
    hedge_cost: np.ndarray  # ψ·|u| + η·u²/dt and ticket fees, summed over the hedges
    hedge_pnl: np.ndarray  # the hedge positions' revaluation

    @property
    def variance_reduced_reward(self) -> np.ndarray:
        """The reward with the mids' diffusive revaluation ``xᵀσ√dt·Lε`` replaced by its mean, zero, and the spread
        captured by its expectation given the quotes, ``Σ_columns chance·δ·Σ_z p_z·z`` over the sizes the limits
        let fill (``fill_noise`` removed): the same expected objective, far less noise, as
        ``envs.core.StepOutcome.variance_reduced_reward`` (Rao–Blackwell; fills and inventories stay realized)."""
        return self.reward - self.diffusion_pnl - self.fill_noise


@functools.lru_cache(maxsize=64)
def _ladder(asset: Asset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The asset's sizes z [lots] (int64), its ladder's cumulative probabilities (last entry dropped), and
    ``p_z·z`` for each size."""
    sizes = np.array(asset.sizes, dtype=np.int64)
    return sizes, np.cumsum(asset.size_probabilities)[:-1], sizes * np.array(asset.size_probabilities)


@functools.lru_cache(maxsize=32)
def _hedge_terms(dealer: Market) -> tuple[np.ndarray, ...]:
    """The hedges' ``max_trade`` and ``max_position`` [lots, int64], then ``spread_cost``, ``impact`` and
    ``ticket_fee``, each ``(m,)``."""
    limits = tuple(dealer.hedge_column(name).astype(np.int64) for name in ("max_trade", "max_position"))
    return limits + tuple(dealer.hedge_column(name) for name in ("spread_cost", "impact", "ticket_fee"))


def stream_count(dealer: Market) -> int:
    """Uniforms drawn per book and step: one per side and asset, two per pair of mid shocks (every instrument),
    and one for the regime switch in a market with regimes."""
    count = 2 * dealer.n_assets + 2 * ((dealer.n_assets + dealer.n_hedges + 1) // 2) + (dealer.regimes.count > 1)
    if count > MAX_STREAMS:
        raise ValueError(
            f"assets and hedges are too many for the core's {MAX_STREAMS} random streams a step (2 per asset, 1 per "
            f"instrument rounded up to a pair, 1 for regimes); got {dealer.n_assets} assets and {dealer.n_hedges} hedges"
        )
    return count


def fill_chance(dealer: Market, offset: np.ndarray, column: int) -> np.ndarray:
    """Per-step fill probability of one column's quotes [price] (columns: each asset's bid, then each asset's
    ask): the fill rule at ``λ_side·f(δ)`` (``Asset.side_intensities``, ``Asset.fill_shape``)."""
    side, index = divmod(column, dealer.n_assets)
    asset = dealer.assets[index]
    return fill_probability(dealer, asset.side_intensities[side] * asset.fill_shape(offset))


def reset(dealer: Market, key: np.ndarray, episode: np.ndarray) -> DealerState:
    """Open a session in every book at the assets' opening mids, their opening inventories (drawn uniformly where
    an asset gives a range) and a regime drawn from the chain's stationary law, from the book's key at a counter
    no trading step uses (step ``n_steps``)."""
    key = np.asarray(key, dtype=np.uint64)
    n = key.shape[0]
    stream_count(dealer)
    episode = np.broadcast_to(np.asarray(episode, dtype=np.uint64), (n,)).copy()
    u = uniforms(key, episode, np.full(n, dealer.n_steps), dealer.n_assets + 1)
    inventory = np.stack(
        [uniform_integers(u[i], *asset.inventory_bounds) for i, asset in enumerate(dealer.assets)], axis=1
    )
    return DealerState(
        mid=np.tile(dealer.column("s0"), (n, 1)),
        cash=np.zeros(n),
        inventory=inventory,
        step=np.zeros(n, dtype=np.int64),
        key=key.copy(),
        episode=episode,
        hedge_mid=np.tile(dealer.hedge_column("s0"), (n, 1)),
        hedge_position=np.zeros((n, dealer.n_hedges), dtype=np.int64),
        regime=draw_regime(np.cumsum(dealer.stationary_regime_distribution), u[dealer.n_assets]),
    )


def step(
    dealer: Market,
    state: DealerState,
    bid_offset: np.ndarray,
    ask_offset: np.ndarray,
    hedge_trade: np.ndarray | None = None,
) -> tuple[DealerState, DealerOutcome]:
    """Advance every book by one step under the quotes ``(n, d)`` [price, ``+inf`` pulled] and the hedge trades
    asked for, ``(n, m)`` [lots, whole lots; ``None``: none]: fills and their settlement, the hedge trades, the
    mids' move, the penalty, the regime switch (the module's note)."""
    d, m = dealer.n_assets, dealer.n_hedges
    u = uniforms(state.key, state.episode, state.step, stream_count(dealer))
    fills = _fill(dealer, state, (np.asarray(bid_offset, np.float64), np.asarray(ask_offset, np.float64)), u)
    cash = state.cash + fills.spread_captured - fills.fees
    for i in range(d):  # the fills settle at the start-of-step mid, plus the offsets captured
        cash -= (fills.inventory[i] - fills.held[i]) * state.mid[:, i]

    position = state.hedge_position
    trade = np.zeros_like(position)
    hedge_cost = np.zeros(state.cash.shape)
    if m and hedge_trade is not None:
        max_trade, max_position, spread_cost, impact, ticket_fee = _hedge_terms(dealer)
        trade = clip_trade(np.asarray(hedge_trade, dtype=np.int64), position, max_trade, max_position)
        costs = trade_cost(trade, spread_cost, impact, dealer.dt)
        costs += ticket_fee * (trade != 0)
        hedge_cost = costs.sum(axis=1)
        cash = cash - np.einsum("nj,nj->n", trade, state.hedge_mid) - hedge_cost
        position = position + trade
    positions = fills.inventory + [np.ascontiguousarray(position[:, j]) for j in range(m)]

    moves = _move_mids(dealer, state, fills, positions, u)
    new_step = state.step + 1
    terminated = new_step >= dealer.n_steps
    penalty = _penalty(dealer, state.regime, terminated, positions)
    regime = state.regime
    if dealer.regimes.count > 1:
        cumulative = np.cumsum(dealer.regime_step_transition, axis=1)
        regime = draw_regime(cumulative[regime], u[stream_count(dealer) - 1])
    new_state = DealerState(
        mid=state.mid + np.stack(moves.change[:d], axis=1),
        cash=cash,
        inventory=np.stack(fills.inventory, axis=1),
        step=new_step,
        key=state.key,
        episode=state.episode,
        hedge_mid=state.hedge_mid + np.stack(moves.change[d:], axis=1) if m else state.hedge_mid,
        hedge_position=position,
        regime=regime,
    )
    reward = fills.spread_captured + moves.inventory_pnl - fills.fees - penalty
    if m:
        reward += moves.hedge_pnl - hedge_cost
    outcome = DealerOutcome(
        reward=reward,
        fill_noise=fills.noise,
        terminated=terminated,
        bid_fills=np.stack(fills.lots[:d], axis=1),
        ask_fills=np.stack(fills.lots[d:], axis=1),
        spread_captured=fills.spread_captured,
        inventory_pnl=moves.inventory_pnl,
        diffusion_pnl=moves.diffusion_pnl,
        penalty=penalty,
        fees=fills.fees,
        hedge_trade=trade,
        hedge_cost=hedge_cost,
        hedge_pnl=moves.hedge_pnl,
    )
    return new_state, outcome


@dataclasses.dataclass
class _Fills:
    """A step's fills: per column (each asset's bid, then each asset's ask) the lots filled, per asset the
    inventories before and after, and the books' spread captured, fees and fill noise, ``(n,)`` [price]."""

    lots: list[np.ndarray]
    held: list[np.ndarray]
    inventory: list[np.ndarray]
    spread_captured: np.ndarray
    fees: np.ndarray
    noise: np.ndarray


def _fill(dealer: Market, state: DealerState, quotes: tuple[np.ndarray, np.ndarray], u: np.ndarray) -> _Fills:
    """Each side of each asset fills at most one request with the fill rule's chance; its size is drawn from the
    ladder, and refused if it would pass ±Q."""
    d = dealer.n_assets
    # Column by column on contiguous 1-D arrays over the books (faster than the stacked (n, 2d) layout).
    held = [np.ascontiguousarray(state.inventory[:, i]) for i in range(d)]
    filled = []
    spread_captured = np.zeros(state.cash.shape)
    fees = np.zeros(state.cash.shape)
    fill_noise = np.zeros(state.cash.shape)
    for column in range(2 * d):
        side, i = divmod(column, d)
        asset = dealer.assets[i]
        offset = np.ascontiguousarray(quotes[side][:, i])
        chance = fill_chance(dealer, offset, column)
        hit = u[column] < chance
        sizes, cumulative, weights = _ladder(asset)
        if cumulative.size == 0:
            size = sizes[0]
        else:  # below the fill chance, u / chance is uniform on [0, 1): it picks the size
            size = sizes[np.searchsorted(cumulative, u[column] / np.where(hit, chance, 1.0), side="right")]
        room = asset.max_inventory - held[i] if side == 0 else asset.max_inventory + held[i]  # lots before ±Q
        fits = room >= size
        hit &= fits
        lots = hit * size
        filled.append(lots)
        price = np.where(chance > 0.0, offset, 0.0)  # a pulled side (+inf, no chance) pays and expects nothing
        spread_captured += lots * price
        if asset.fee:
            fees += asset.fee * lots
        # E[lots | quotes] = chance·Σ_z p_z·z over the sizes the limit lets fill (one size: where it fits).
        if cumulative.size == 0:
            expected = chance * (weights[0] * fits)
        else:
            expected = chance * ((room[:, None] >= sizes[None, :]) @ weights)
        fill_noise += (lots - expected) * (price - asset.fee if asset.fee else price)
    inventory = [held[i] + filled[i] - filled[d + i] for i in range(d)]
    return _Fills(filled, held, inventory, spread_captured, fees, fill_noise)


@dataclasses.dataclass
class _Moves:
    """The instruments' mid changes [price, each ``(n,)``, quoted assets then hedges] and what they paid."""

    change: list[np.ndarray]
    inventory_pnl: np.ndarray
    hedge_pnl: np.ndarray
    diffusion_pnl: np.ndarray


def _move_mids(dealer: Market, state: DealerState, fills: _Fills, positions: list[np.ndarray], u: np.ndarray) -> _Moves:
    """``μ·dt + scale_regime·σ·√dt·(L·ε)`` for every instrument, ε independent standard normals (Box–Muller, or ±1
    under the binomial mid), plus each quoted asset's adverse jump ``ξ·(ask lots − bid lots)``."""
    d, m = dealer.n_assets, dealer.n_hedges
    pairs = (d + m + 1) // 2
    normals = []
    if dealer.mid_process == "binomial":
        normals = [np.where(u[2 * d + k] < 0.5, 1.0, -1.0) for k in range(d + m)]
    else:
        for pair in range(pairs):
            radius, angle = box_muller(u[2 * d + pair], u[2 * d + pairs + pair])
            normals += [radius * np.cos(angle), radius * np.sin(angle)]
    loading, drift = _loading(dealer), _drift(dealer)
    scale = np.asarray(dealer.regimes.scales)[state.regime] if dealer.regimes.count > 1 else None
    change = []
    inventory_pnl = np.zeros(state.cash.shape)
    hedge_pnl = np.zeros(state.cash.shape)
    diffusion_pnl = np.zeros(state.cash.shape)
    for i in range(d + m):  # every instrument: quoted assets, then hedges
        shock = loading[i, 0] * normals[0]
        for k in range(1, d + m):
            shock += loading[i, k] * normals[k]
        if scale is not None:
            shock *= scale
        move = shock + drift[i]
        if i < d and dealer.assets[i].adverse_jump:
            move += dealer.assets[i].adverse_jump * (fills.lots[d + i] - fills.lots[i])
        change.append(move)
        if i < d:
            inventory_pnl += positions[i] * move
        else:
            hedge_pnl += positions[i] * move
        diffusion_pnl += positions[i] * shock
    return _Moves(change, inventory_pnl, hedge_pnl, diffusion_pnl)


def _penalty(dealer: Market, regime: np.ndarray, terminated: np.ndarray, positions: list[np.ndarray]) -> np.ndarray:
    """``(φ_regime·dt + α·[at the close])·xᵀRx`` [price], x every position after the step's fills and trades."""
    risk_matrix = dealer.risk_matrix
    risk = np.zeros(terminated.shape)
    for i in range(len(positions)):
        row = risk_matrix[i, i] * positions[i]
        for j in range(i + 1, len(positions)):
            row += (2.0 * risk_matrix[i, j]) * positions[j]
        risk += row * positions[i]
    levels = dealer.running_penalty_levels
    running = levels[regime] if dealer.regimes.count > 1 else levels[0]
    rate = running * dealer.dt
    if dealer.penalty.terminal:
        rate = rate + dealer.penalty.terminal * terminated
    return rate * risk


@functools.lru_cache(maxsize=32)
def _loading(dealer: Market) -> np.ndarray:
    """``σ·√dt·L`` row by instrument: the mids' diffusive moves from independent draws. ``L`` is the symmetric square
    root of the correlation for Gaussian draws, and its Cholesky factor for the binomial mid's ±1 draws (so the first
    asset moves by exactly ±σ√dt, ``Market.triangular_loading``)."""
    loading = dealer.triangular_loading if dealer.mid_process == "binomial" else dealer.shock_loading
    return loading * (dealer.instrument_column("sigma") * np.sqrt(dealer.dt))[:, None]


@functools.lru_cache(maxsize=32)
def _drift(dealer: Market) -> np.ndarray:
    """``μ·dt`` by instrument [price]."""
    return dealer.instrument_column("drift") * dealer.dt


@dataclasses.dataclass(frozen=True)
class DealerEpisodes:
    """Per-episode sums of a batch of sessions: ``(n,)`` [price] unless noted; per-asset ``(n, d)``."""

    reward: np.ndarray
    pnl: np.ndarray  # the change in wealth marked to the mids over the session [price]
    spread_captured: np.ndarray
    inventory_pnl: np.ndarray
    penalty: np.ndarray
    fees: np.ndarray
    hedge_pnl: np.ndarray
    hedge_cost: np.ndarray
    spread_by_asset: np.ndarray  # spread captured per asset [price]
    fills: np.ndarray  # lots filled per asset, both sides
    mean_abs_inventory: np.ndarray  # per asset [lots]
    mean_net_risk: np.ndarray  # √(xᵀRx) over every position, averaged over the session [lots of the first asset]
    max_abs_inventory: np.ndarray  # per asset [lots]
    mean_abs_hedge: np.ndarray  # per hedge instrument [lots], (n, m)


FLOWS = ("reward", "spread_captured", "inventory_pnl", "penalty", "fees", "hedge_pnl", "hedge_cost")


def rollout(dealer: Market, policy: DealingRule, keys: np.ndarray, episode: int = 0) -> DealerEpisodes:
    """One session in each book (``keys``), dealing by ``policy(inventory, hedge_position, time_to_close, regime)``."""
    state = reset(dealer, keys, np.full(len(keys), episode, dtype=np.uint64))
    opening = state.wealth
    n, d = state.inventory.shape
    sums = {name: np.zeros(n) for name in (*FLOWS, "risk")}
    fills, abs_inventory, spread_by_asset = np.zeros((n, d)), np.zeros((n, d)), np.zeros((n, d))
    abs_hedge = np.zeros(state.hedge_position.shape)
    max_abs = np.abs(state.inventory).astype(np.float64)
    for index in range(dealer.n_steps):
        time_to_close = np.full(n, dealer.horizon - index * dealer.dt)
        bid, ask, trade = policy(state.inventory, state.hedge_position, time_to_close, state.regime)
        state, outcome = step(dealer, state, bid, ask, trade)
        for name in FLOWS:
            sums[name] += getattr(outcome, name)
        positions = state.positions
        sums["risk"] += np.sqrt(np.einsum("ni,ij,nj->n", positions, dealer.risk_matrix, positions))
        abs_hedge += np.abs(state.hedge_position)
        fills += outcome.bid_fills + outcome.ask_fills
        for quote, lots in ((bid, outcome.bid_fills), (ask, outcome.ask_fills)):
            spread_by_asset += lots * np.where(lots > 0, quote, 0.0)
        abs_inventory += np.abs(state.inventory)
        max_abs = np.maximum(max_abs, np.abs(state.inventory))
    return DealerEpisodes(
        reward=sums["reward"],
        pnl=state.wealth - opening,
        spread_captured=sums["spread_captured"],
        inventory_pnl=sums["inventory_pnl"],
        penalty=sums["penalty"],
        fees=sums["fees"],
        hedge_pnl=sums["hedge_pnl"],
        hedge_cost=sums["hedge_cost"],
        spread_by_asset=spread_by_asset,
        fills=fills,
        mean_abs_inventory=abs_inventory / dealer.n_steps,
        mean_net_risk=sums["risk"] / dealer.n_steps,
        max_abs_inventory=max_abs,
        mean_abs_hedge=abs_hedge / dealer.n_steps,
    )
