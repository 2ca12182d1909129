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

import numpy as np

from baselines.policy import Policy
from baselines.quote_table import QuoteTable, lookup_by_regime
from envs import World, inventory_penalty, quote_fill_probability

_INVERSE_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
_SEARCH_ITERATIONS = 36
_COUPLING_ROUNDS = 2
MAX_STATES = 10_000_000


def _best_offset(world: World, side_intensity: np.ndarray, constant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximize ``p(δ)·(δ + K)`` over ``δ ∈ [min_offset, max_offset)`` or pulling (value 0), per entry.

    ``side_intensity`` is the side's arrival rate at zero offset; returns ``(offset, probability)``,
    ``offset = +inf`` and probability 0 where the side is pulled.
    """

    def value(offset):
        return quote_fill_probability(world, side_intensity, offset) * (offset + constant)

    min_offset, max_offset = world.offset_range
    low = np.full(constant.shape, min_offset)
    high = np.full(constant.shape, max_offset)
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
    offset = np.where(value(min_offset) > value(offset), min_offset, offset)
    pulled = (value(offset) <= 0.0) | (offset >= max_offset)
    probability = np.where(pulled, 0.0, quote_fill_probability(world, side_intensity, offset))
    return np.where(pulled, np.inf, offset), probability


class Optimal(Policy):
    """Exact optimal quotes of the discrete env, tabulated over (step, regime, inventory).

    ``value[n, r, i]`` is the expected reward still to come from step n in regime r with inventory
    ``i − Q`` [price]."""

    name = "optimal"
    parameters = {}

    def __init__(self, world: World, **params) -> None:
        super().__init__(world, **params)
        limit, n_regimes = world.max_inventory, world.n_regimes
        states = world.n_steps * n_regimes * (2 * limit + 1)
        if states > MAX_STATES:
            raise ValueError(
                f"optimal cannot be built for this world: its (step, regime, inventory) grid has "
                f"{states:,} states, more than the {MAX_STATES:,} this tabulation allows; lower "
                "max_inventory, or raise dt"
            )
        q = np.arange(-limit, limit + 1, dtype=np.float64)
        regimes = np.arange(n_regimes)[:, None]
        bid_offset = np.empty((world.n_steps, n_regimes, q.size))
        ask_offset = np.empty_like(bid_offset)
        self.value = np.empty((world.n_steps + 1, n_regimes, q.size))
        self.value[world.n_steps] = 0.0
        xi, fee = world.adverse_jump, world.fee
        # Both sides are searched as one stacked array: index 0 the bid, 1 the ask.
        intensity = np.stack(
            [np.full((n_regimes, q.size), world.bid_intensity), np.full((n_regimes, q.size), world.ask_intensity)]
        )
        allowed = np.stack(
            [np.broadcast_to(q < limit, (n_regimes, q.size)), np.broadcast_to(q > -limit, (n_regimes, q.size))]
        )
        probability = np.zeros_like(intensity)  # warm start: the coupling changes little between steps
        for n in range(world.n_steps - 1, -1, -1):  # backward in time, vectorized over side × regime × inventory
            closing = n == world.n_steps - 1
            after = -inventory_penalty(world, q, regimes, closing) + world.regime_step_transition @ self.value[n + 1]
            up = np.concatenate([after[:, 1:], after[:, -1:]], axis=1)
            down = np.concatenate([after[:, :1], after[:, :-1]], axis=1)
            gain = np.stack([-fee - (q + 1) * xi + up - after, -fee + (q - 1) * xi + down - after])
            coupling = 2 * xi + 2 * after - up - down
            for _ in range(_COUPLING_ROUNDS):
                offset, probability = _best_offset(world, intensity, gain + probability[::-1] * coupling)
                probability = np.where(allowed, probability, 0.0)
            offset = np.where(allowed, offset, np.inf)
            bid_offset[n], ask_offset[n] = offset
            side_value = probability * (np.where(allowed & (probability > 0), offset, 0.0) + gain)
            self.value[n] = after + side_value.sum(axis=0) + probability[0] * probability[1] * coupling
        # Indexed by steps to close (the table's axis): step n has n_steps − n left; at the close, nothing
        # is left to quote and the last step's quotes stand in.
        by_steps_left = np.concatenate([np.arange(world.n_steps - 1, world.n_steps), np.arange(world.n_steps)[::-1]])
        self._tables = [
            QuoteTable(world, bid_offset[by_steps_left, r], ask_offset[by_steps_left, r]) for r in range(n_regimes)
        ]

    def expected_reward(self) -> float:
        """Exact expected episode reward of this policy from the world's opening law [price]."""
        low, high = self.world.inventory_bounds
        index = np.arange(low, high + 1) + self.world.max_inventory
        opening = self.value[0][:, index].mean(axis=1)
        return float(self.world.stationary_regime_distribution @ opening)

    def quotes(self, inventory, time_to_close, volatility):
        return lookup_by_regime(self.world, self._tables, inventory, time_to_close, volatility)
