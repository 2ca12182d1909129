"""The exact optimum of the discrete-time environment, by backward induction.

With a martingale mid and fills drawn independently per side, wealth marked to the mid separates:
``V(n, x, q, s, r) = x + q·s + h(n, q, r)`` (the ansatz of Cartea, Jaimungal & Penalva 2015, §10.2, in
discrete time). With ``p_b``,
``p_a`` the fill probabilities of the chosen offsets and ``W(q')`` the value after the step's fills,

    W(r, q') = −φ_r·dt·q'² − [close]·α·q'² + Σ_r' P(r, r')·h(n + 1, q', r')
    h(n, q, r) = W(q) + p_b·(δ_b − fee − (q+1)·ξ + W(q+1) − W(q))
                      + p_a·(δ_a − fee + (q−1)·ξ + W(q−1) − W(q))
                      + p_b·p_a·(2ξ + 2W(q) − W(q+1) − W(q−1))

(ξ the adverse jump, which moves the mid against the filled side after the fills). Each side's
term ``p(δ)·(δ + K)`` is unimodal in δ and maximized by golden-section search over the world's offset
range, pulling the side when quoting cannot earn a positive value; the weak coupling through
``p_b·p_a`` is resolved by rounds of coordinate ascent warm-started from the next step's solution. This is the ceiling ("100 %") against
which learned policies are scored on the env's own reward.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from baselines.policy import HedgingPolicy
from baselines.quote_table import inventory_index, steps_to_close
from envs import World, core, fill_probability, nearest_regime, trade_cost

_INVERSE_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
_SEARCH_ITERATIONS = 36
_COUPLING_ROUNDS = 2
MAX_STATES = 10_000_000


def best_offset(
    probability: Callable[[np.ndarray], np.ndarray], constant: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """Maximize ``p(δ)·(δ + K)`` over ``δ ∈ [low, high)`` or pulling (value 0), per entry of ``constant``.

    ``probability(δ)`` is the side's per-step fill probability at offset δ [price]; returns
    ``(offset, probability)``, ``offset = +inf`` and probability 0 where the side is pulled.
    """

    def value(offset):
        return probability(offset) * (offset + constant)

    high_edge = high
    low_edge = low = np.full(constant.shape, low)
    high = np.full(constant.shape, high)
    inner_low, inner_high = high - _INVERSE_GOLDEN * (high - low), low + _INVERSE_GOLDEN * (high - low)
    value_low, value_high = value(inner_low), value(inner_high)
    for _ in range(_SEARCH_ITERATIONS):
        left = value_low >= value_high  # the maximum lies in [low, inner_high]
        high = np.where(left, inner_high, high)
        low = np.where(left, low, inner_low)
        probe = np.where(left, high - _INVERSE_GOLDEN * (high - low), low + _INVERSE_GOLDEN * (high - low))
        probe_value = value(probe)
        inner_low, inner_high = np.where(left, probe, inner_high), np.where(left, inner_low, probe)
        value_low, value_high = np.where(left, probe_value, value_high), np.where(left, value_low, probe_value)
    offset = 0.5 * (low + high)
    # Also consider the most aggressive quote: the maximizer may sit on the lower edge.
    offset = np.where(value(low_edge) > value(offset), low_edge, offset)
    pulled = (value(offset) <= 0.0) | (offset >= high_edge)
    return np.where(pulled, np.inf, offset), np.where(pulled, 0.0, probability(offset))


def _best_offset(world: World, side_intensity: np.ndarray, constant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``best_offset`` for a side whose orders arrive at ``side_intensity`` at zero offset, over the world's
    offset range."""
    asset = world.market.assets[0]
    return best_offset(
        lambda offset: fill_probability(world, side_intensity, asset.fill_shape(offset)), constant, *world.offset_range
    )


class Optimal(HedgingPolicy):
    """Exact optimal quotes (and hedge trades) of the discrete env, tabulated over (step, regime,
    inventory[, hedge position]).

    ``value[n, r, i, j]`` is the expected reward still to come from step n in regime r with inventory
    ``i − Q`` and hedge position ``(j − Q₂/h)·h`` [price]; without a hedge instrument j has one value, 0.

    With a hedge instrument each step first trades: ``h(n, q₁, q₂) = max_u [−ψ|u| − ηu²/dt − fee·[u≠0]
    + G(n, q₁, q₂ + u)]`` over the lots ``u`` the action can ask for (within ±Q₂), where ``G`` is the quote
    step above with ``W`` charging the net risk ``qᵀRq`` and ``q₂`` held through the step; the separation
    ``V = x + q₁s₁ + q₂s₂ + h`` holds because both mids are martingales and the trade is at the mid.
    """

    name = "optimal"
    parameters = {}

    def __init__(self, world: World, **params) -> None:
        super().__init__(world, **params)
        world = self.world  # a one-asset market arrives as its World
        limit, n_regimes = world.max_inventory, world.market.regimes.count
        hedge_positions = _hedge_grid(world)
        states = world.n_steps * n_regimes * (2 * limit + 1) * hedge_positions.size
        if states > MAX_STATES:
            axes = "inventory, hedge position" if world.hedged else "inventory"
            raise ValueError(
                f"optimal cannot be built for this world: its (step, regime, {axes}) grid has "
                f"{states:,} states, more than the {MAX_STATES:,} this tabulation allows; lower "
                "max_inventory" + (" or hedge_max_position" if world.hedged else "") + ", or raise dt"
            )
        q = np.arange(-limit, limit + 1, dtype=np.float64)[:, None]
        shape = (n_regimes, q.size, hedge_positions.size)
        offsets = np.empty((world.n_steps, 2, *shape))
        trades = np.zeros((world.n_steps, *shape), dtype=np.int64)
        self.value = np.empty((world.n_steps + 1, *shape))
        self.value[world.n_steps] = 0.0
        xi, fee = world.adverse_jump, world.fee
        # Both sides are searched as one stacked array: index 0 the bid, 1 the ask.
        intensity = np.stack([np.full(shape, side) for side in world.market.assets[0].side_intensities])
        allowed = np.stack([np.broadcast_to(q < limit, shape), np.broadcast_to(q > -limit, shape)])
        probability = np.zeros_like(intensity)  # warm start: the coupling changes little between steps
        # The core's phase-4 penalty, (φ_r·dt + α·[close])·xᵀRx over (regime, inventory, hedge position).
        risk = core.risk_form(world.market.risk_matrix)
        net_risk = risk(q, hedge_positions) if world.hedged else risk(q)
        rate = world.market.running_penalty_levels * world.dt
        running = rate[:, None, None] * net_risk
        closing = (rate + np.float64(world.market.penalty.terminal))[:, None, None] * net_risk
        for n in range(world.n_steps - 1, -1, -1):  # backward in time, vectorized over side × regime × positions
            after = -(closing if n == world.n_steps - 1 else running) + np.einsum(
                "rs,sij->rij", world.market.regime_step_transition, self.value[n + 1]
            )
            up = np.concatenate([after[:, 1:], after[:, -1:]], axis=1)
            down = np.concatenate([after[:, :1], after[:, :-1]], axis=1)
            gain = np.stack([-fee - (q + 1) * xi + up - after, -fee + (q - 1) * xi + down - after])
            coupling = 2 * xi + 2 * after - up - down
            for _ in range(_COUPLING_ROUNDS):
                offset, probability = _best_offset(world, intensity, gain + probability[::-1] * coupling)
                probability = np.where(allowed, probability, 0.0)
            offsets[n] = np.where(allowed, offset, np.inf)
            side_value = probability * (np.where(allowed & (probability > 0), offset, 0.0) + gain)
            quoted = after + side_value.sum(axis=0) + probability[0] * probability[1] * coupling
            if world.hedged:
                self.value[n], trades[n] = _best_trade(world, quoted)
            else:
                self.value[n] = quoted
        # Indexed by steps to close (the table's axis): step n has n_steps − n left; at the close, nothing
        # is left to quote and the last step's quotes stand in.
        by_steps_left = np.concatenate([np.arange(world.n_steps - 1, world.n_steps), np.arange(world.n_steps)[::-1]])
        self._offsets = offsets[by_steps_left]
        self._trades = trades[by_steps_left]

    def expected_reward(self) -> float:
        """Exact expected episode reward of this policy from the world's opening law [price]."""
        low, high = self.world.inventory_bounds
        index = np.arange(low, high + 1) + self.world.max_inventory
        flat = self.value.shape[-1] // 2  # the hedge position opens at 0
        opening = self.value[0][:, index, flat].mean(axis=1)
        return float(self.world.market.stationary_regime_distribution @ opening)

    def decide(self, inventory, hedge_position, time_to_close, volatility):
        """Quotes [price] after the optimal hedge trade [lots] at each state (no trade without a hedge)."""
        world = self.world
        steps_left, regime = steps_to_close(world, time_to_close), nearest_regime(world, volatility)
        limit = world.hedge_max_position  # 0 without a hedge instrument: the one position, flat
        j = (np.clip(np.asarray(hedge_position), -limit, limit).astype(np.int64) + limit) // world.hedge_lot
        steps_left, regime, i, j = np.broadcast_arrays(steps_left, regime, inventory_index(world, inventory), j)
        trade = self._trades[steps_left, regime, i, j]
        after = j + trade // world.hedge_lot
        return self._offsets[steps_left, 0, regime, i, after], self._offsets[steps_left, 1, regime, i, after], trade


def _hedge_grid(world: World) -> np.ndarray:
    """The hedge positions the tabulation spans [lots]: multiples of the lot within ±Q₂ (just 0 unhedged)."""
    if not world.hedged:
        return np.zeros(1)
    limit, lot = world.hedge_max_position, world.hedge_lot
    return np.arange(-limit, limit + 1, lot, dtype=np.float64)


def _best_trade(world: World, quoted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``max_u [−cost(u) + quoted(·, ·, j + u/h)]`` over the trades an action can ask for, with the argmax
    [lots]; ``quoted`` is ``(regimes, inventories, hedge positions)`` on ``_hedge_grid``."""
    lot, size, most = world.hedge_lot, quoted.shape[-1], world.hedge_max_trade // world.hedge_lot
    best = np.full(quoted.shape, -np.inf)
    trade = np.zeros(quoted.shape, dtype=np.int64)
    for lots in sorted(range(-most, most + 1), key=abs):  # smallest trades first: a tie keeps the smaller
        u = lots * lot
        cost = trade_cost(u, world.hedge_spread_cost, world.hedge_impact, world.dt, world.hedge_ticket_fee)
        candidate = np.full(quoted.shape, -np.inf)
        source = slice(max(lots, 0), size + min(lots, 0))  # j + lots within the grid
        target = slice(max(-lots, 0), size + min(-lots, 0))
        candidate[..., target] = quoted[..., source] - cost
        better = candidate > best
        best = np.where(better, candidate, best)
        trade = np.where(better, u, trade)
    return best, trade
