"""The exact optimum of a two-asset market's discrete-time book, by backward induction over the joint
inventory grid and the volatility regime.

With martingale-plus-drift mids and fills drawn independently per side and asset, wealth marked to the mids
separates, ``V(n, x, r, q, s) = x + qᵀs + h(n, r, q)`` (as in ``baselines.optimal``). Let ``W_r(q') = dt·(μᵀq' −
φ_r·q'ᵀRq') + Σ_r' P_rr'·h(n + 1, r', q')`` be the value after the step's fills in regime r (P the chain's one-step
transition, ``h(N, ·, q) = −α·qᵀRq`` the close's charge); each of the four sides (asset, bid or ask) fills at
most one request, of z lots with probability ``π(δ)·p_z`` (π the fill rule's chance at ``λ_side·f(δ)``; none if
it would pass ``±Q``), so

    h(n, r, q) = max_δ E[ Σ_sides z·(δ − fee)·[fill] + W_r(q + Δ) ],   Δᵢ = (bid lots − ask lots) of asset i.

Holding the other three sides' outcome laws fixed, a side's part is ``π(δ)·Σ_z p_z·(z·δ + K_z)`` with
``K_z = E[W | it fills z] − E[W | it does not]``: ``Z·π(δ)·(δ + K̄/Z)`` with ``Z = Σ p_z·z`` over the sizes that
fit, maximized by ``baselines.optimal.best_offset``. Under the per-size quote rule (``Market.quote_rule``) each size
has its own quote, filling with chance ``π(δ_z)·p_z``, and the side's part ``Σ_z p_z·π(δ_z)·(z·δ_z + K_z)``
separates: each size's quote maximizes ``π(δ)·(δ + K_z/z)`` (BEGV 2021's quotes δ(t, q, z)). Rounds of coordinate
ascent over the four sides, warm-started from the next step's fill chances, resolve the coupling. This is the
ceiling against which the market's policies are scored.

Inventories are tabulated on multiples of each asset's unit, the greatest common divisor of its sizes, its limit and
its opening inventories (``Asset.inventory_unit``): 25 × 97 points for BEGV 2021's limits of 75,000 and 300,000 in sizes of 6,250.
"""

from __future__ import annotations

import math

import numpy as np

from baselines.closed_form import ClosedForm
from baselines.optimal import MAX_STATES, Optimal, best_offset
from baselines.policy import MarketPolicy, Policy
from baselines.quote_table import steps_to_close
from envs import World, fill_probability, interface_of
from envs.market import Market
from envs.world import world_of_market

_COUPLING_ROUNDS = 3


class JointOptimal(MarketPolicy):
    """Exact optimal quotes of a two-asset market, tabulated over (step, regime, q₁, q₂) (module docstring).

    ``value[n, r, i, j]`` is the expected reward still to come from step n in regime r at inventories
    ``(u₁·i − Q₁, u₂·j − Q₂)`` (u the assets' ``Asset.inventory_unit``); ``offsets[n, r, c, z, i, j]`` the optimal quote of
    column c (bid of asset 0, bid of asset 1, ask of asset 0, ask of asset 1) for size z (one entry per size under the
    per-size rule, else one for every size) [price, ``+inf`` pulled].
    """

    name = "optimal"

    def __init__(self, world: World | Market) -> None:
        super().__init__(world)
        market = self.market
        if market.n_assets != 2:
            raise ValueError(
                f"optimal tabulates exactly two quoted assets (its joint inventory grid grows as Π(2Qᵢ + 1)); this "
                f"market has {market.n_assets}: score against closed_form instead"
            )
        if market.n_hedges:
            raise ValueError(
                f"optimal tabulates quoted inventories only; this market has {market.n_hedges} hedge instrument(s), "
                "whose positions would add a dimension each to its grid: score against closed_form instead"
            )
        _check_modelled(market)
        self.units = units = [asset.inventory_unit for asset in market.assets]
        limits = [asset.max_inventory // unit for asset, unit in zip(market.assets, units, strict=True)]
        self._limits = limits
        regimes = market.regimes.count
        states = market.n_steps * regimes * (2 * limits[0] + 1) * (2 * limits[1] + 1)
        if states > MAX_STATES:
            raise ValueError(
                f"optimal cannot be built for this market: its (step, regime, q₁, q₂) grid has {states:,} states, "
                f"more than the {MAX_STATES:,} this tabulation allows; lower max_inventory or raise dt"
            )
        sizes, probabilities = market.size_table
        steps_of = sizes // np.array(units)[:, None]  # each size in its asset's units
        self._reach = int(steps_of.max())
        grids = np.meshgrid(
            *(unit * np.arange(-q, q + 1, dtype=np.float64) for q, unit in zip(limits, units, strict=True)),
            indexing="ij",
        )
        inventory = np.stack(grids, axis=-1)  # (N1, N2, 2) [lots]
        low, high = _offset_range(market, inventory)
        steps = market.n_steps
        self.per_size = market.quote_buckets > 1
        buckets = sizes.shape[1] if self.per_size else 1
        self.value = np.zeros((steps + 1, regimes, *grids[0].shape))
        self.offsets = np.empty((steps, regimes, 4, buckets, *grids[0].shape))
        # Per column (bid 0, bid 1, ask 0, ask 1): the signed units each rung moves its asset, and whether it fits.
        moves = np.concatenate([steps_of, -steps_of])  # (4, m)
        asset_of = np.array([0, 1, 0, 1])
        self._fee = market.column("fee")[asset_of]
        self._lots = np.concatenate([sizes, sizes]).astype(np.float64)  # (4, m) lots a fill of each rung trades
        limit = np.array(market.column("max_inventory"))[asset_of]
        position = inventory[..., asset_of]  # (N1, N2, 4)
        fits = np.abs(position[None] + np.concatenate([sizes, -sizes]).T[:, None, None, :]) <= limit  # (m, N1, N2, 4)
        self._weight = np.moveaxis(  # (4, m, N1, N2): p_z where size z fits
            np.where(fits, np.concatenate([probabilities, probabilities]).T[:, None, None, :], 0.0), -1, 0
        )
        self._moves = moves
        chance = np.zeros((regimes, 4, buckets, *grids[0].shape))
        risk = np.einsum("xyi,ij,xyj->xy", inventory, market.risk_matrix, inventory)
        drift = market.dt * (inventory @ market.column("drift"))
        self.value[steps] = -market.penalty.terminal * risk  # the close charges α·qᵀRq on the last step's fills
        transition = market.regime_step_transition
        for n in range(steps - 1, -1, -1):
            for regime in range(regimes):
                # The penalty is the step's regime's; the regime then switches before step n + 1.
                running = drift - market.dt * market.running_penalty_levels[regime] * risk
                after = running + np.tensordot(transition[regime], self.value[n + 1], axes=1)
                grid = self._shifted(after)  # (2·reach + 1, 2·reach + 1, N1, N2)
                offset, chance[regime] = self._quote_step(grid, chance[regime], low, high)
                self.offsets[n, regime] = offset
                self.value[n, regime] = self._expected(grid, offset, chance[regime])

    def _shifted(self, after: np.ndarray) -> np.ndarray:
        """``G[a, b] = W(q₁ + a, q₂ + b)`` for shifts within ±reach, 0 off the grid (never weighted)."""
        reach = self._reach
        padded = np.pad(after, reach)
        n1, n2 = after.shape
        shifts = range(-reach, reach + 1)
        return np.stack(
            [np.stack([padded[reach + a : reach + a + n1, reach + b : reach + b + n2] for b in shifts]) for a in shifts]
        )

    def _laws(self, chance: np.ndarray) -> np.ndarray:
        """Each column's law over the lots it moves its asset, ``(4, 2·reach + 1, N1, N2)`` (index reach + x)."""
        reach = self._reach
        law = np.zeros((4, 2 * reach + 1, *chance.shape[2:]))
        filled = chance * self._weight  # (4, m, N1, N2), chance broadcast over the sizes where one quote serves all
        law[:, reach] = 1.0 - filled.sum(axis=1)
        for column in range(4):
            for rung, move in enumerate(self._moves[column]):
                law[column, reach + move] += filled[column, rung]
        return law

    def _asset_law(self, law: np.ndarray, asset: int) -> np.ndarray:
        """Law of ``Δ`` (bid lots − ask lots) of one asset, ``(2·reach + 1, N1, N2)``."""
        reach = self._reach
        bid, ask = law[asset], law[asset + 2]
        total = np.zeros_like(bid)
        for up in range(reach + 1):
            for down in range(reach + 1):
                total[up - down + reach] += bid[reach + up] * ask[reach - down]
        return total

    def _quote_step(self, grid, chance, low, high):
        market = self.market
        offset = np.full(chance.shape, np.inf)
        for _ in range(_COUPLING_ROUNDS):
            for column in range(4):
                asset = column % 2
                law = self._laws(chance)
                other = self._asset_law(law, 1 - asset)
                # W averaged over the other asset's Δ: a function of this asset's shift.
                if asset == 0:
                    over_other = np.einsum("bxy,abxy->axy", other, grid)
                else:
                    over_other = np.einsum("axy,abxy->bxy", other, grid)
                opposite = law[column + 2 if column < 2 else column - 2]  # this asset's other side

                stay = _shifted_expectation(opposite, over_other, 0)
                weight = self._weight[column]  # (m, N1, N2)
                # K_z: what a fill of size z adds to the continuation, per rung.
                gains = np.stack(
                    [_shifted_expectation(opposite, over_other, move) - stay for move in self._moves[column]]
                )
                lots = weight * self._lots[column][:, None, None]
                if self.per_size:  # each size's own constant K_z/z
                    fillable = weight > 0
                    constant = gains / self._lots[column][:, None, None]
                else:  # one quote: Σ p_z·K_z / Σ p_z·z
                    fillable = lots.sum(axis=0, keepdims=True) > 0
                    total = lots.sum(axis=0, keepdims=True)
                    constant = (weight * gains).sum(axis=0, keepdims=True) / np.where(fillable, total, 1.0)
                # A fill of z lots pays z·(δ − fee): the fee moves the side's constant.
                constant = np.where(fillable, constant, 0.0) - self._fee[column]
                best, best_chance = best_offset(
                    lambda quote, column=column: _fill_chance(market, quote, column), constant, low, high
                )
                offset[column] = np.where(fillable, best, np.inf)
                chance = chance.copy()
                chance[column] = np.where(fillable, best_chance, 0.0)
        return offset, chance

    def _expected(self, grid, offset, chance):
        """``E[Σ z·δ·[fill] + W(q + Δ)]`` under the chosen quotes."""
        law = self._laws(chance)
        first, second = self._asset_law(law, 0), self._asset_law(law, 1)
        continuation = np.einsum("axy,bxy,abxy->xy", first, second, grid)
        spread = np.zeros(continuation.shape)
        for column in range(4):
            lots = self._weight[column] * self._lots[column][:, None, None]  # (m, N1, N2)
            paid = np.where(np.isfinite(offset[column]), offset[column] - self._fee[column], 0.0)
            spread += (chance[column] * lots * paid).sum(axis=0)
        return continuation + spread

    def expected_reward(self) -> float:
        """Exact expected episode reward from the open [price]: over the opening inventories (uniform where an
        asset gives a range) and the regime chain's stationary law."""
        (low_1, high_1), (low_2, high_2) = (asset.inventory_bounds for asset in self.market.assets)
        limits, (unit_1, unit_2) = self._limits, self.units
        rows = slice(low_1 // unit_1 + limits[0], high_1 // unit_1 + limits[0] + 1)
        columns = slice(low_2 // unit_2 + limits[1], high_2 // unit_2 + limits[1] + 1)
        opening = self.value[0][:, rows, columns].mean(axis=(1, 2))
        return float(opening @ self.market.stationary_regime_distribution)

    def act(self, state):
        market = self.market
        inventory = state["inventory"]
        index = np.minimum(market.n_steps - steps_to_close(market, state["time_to_close"]), market.n_steps - 1)
        i = inventory[:, 0] // self.units[0] + self._limits[0]
        j = inventory[:, 1] // self.units[1] + self._limits[1]
        table = self.offsets[index, state["regime"], :, :, i, j]  # (n, 4, buckets)
        if not self.per_size:
            table = table[..., 0]
        return table[:, :2], table[:, 2:], None

    def quotes(self, inventory, time_to_close, volatility):
        """The quotes in a market with one regime (``act``, and a call on positions, read each book's regime)."""
        if self.market.regimes.count > 1:
            raise ValueError("optimal quotes by regime in a market with regimes: call it with each book's regime")
        return self(inventory, None, time_to_close)[:2]


def exact_optimum(world: World | Market) -> Policy:
    """``optimal`` of any market whose exact optimum this project tabulates: one quoted asset
    (``baselines.optimal.Optimal`` over step, regime, inventory and hedge position; a one-asset market through
    ``envs.world.world_of_market``) or two (``JointOptimal``). ``ValueError`` says why not otherwise: beyond two
    assets, the number of states its grid would need."""
    market = world.market if isinstance(world, World) else interface_of(world).market
    if market.n_assets == 1:
        return Optimal(world if isinstance(world, World) else world_of_market(market))
    if market.n_assets > 2:
        states = market.n_steps * market.regimes.count * math.prod(2 * a.max_inventory + 1 for a in market.assets)
        raise ValueError(
            f"optimal tabulates one or two quoted assets; this market has {market.n_assets}, whose (step, regime, "
            f"inventories) grid would hold {states:,} states: score against closed_form instead"
        )
    return JointOptimal(world)


def _check_modelled(market: Market) -> None:
    """``ValueError`` naming the first feature of ``market`` this tabulation does not model yet."""
    for index, asset in enumerate(market.assets):
        if asset.adverse_jump:
            raise ValueError(
                f"optimal does not model assets[{index}].adverse_jump yet (it accepts 0.0): a jump couples a fill's "
                "value to the inventory it leaves; score against closed_form instead"
            )


def _shifted_expectation(opposite: np.ndarray, over_other: np.ndarray, shift: int) -> np.ndarray:
    """``E[W]`` when one side moves its asset by ``shift`` lots, over the law of the same asset's other side
    (``opposite``, indexed by reach + move) and a W already averaged over the other asset (``over_other``)."""
    reach = (opposite.shape[0] - 1) // 2
    total = np.zeros(opposite.shape[1:])
    for move in range(-reach, reach + 1):
        if 0 <= reach + shift + move <= 2 * reach:
            total += opposite[reach + move] * over_other[reach + shift + move]
    return total


def _offset_range(market: Market, inventory: np.ndarray) -> tuple[float, float]:
    """The offsets the search spans [price]: the closed form's quotes over the grid at the open, widened by
    half their span and the widest myopic quote either way."""
    closed_form = ClosedForm(market)
    flat = inventory.reshape(-1, market.n_assets)
    bid, ask, _ = closed_form(flat, None, np.full(flat.shape[0], market.horizon))
    quotes = np.concatenate([bid, ask]).ravel()
    quotes = quotes[np.isfinite(quotes)]
    myopic = max(abs(float(asset.best_response(0.0))) for asset in market.assets)
    span = quotes.max() - quotes.min()
    return float(quotes.min() - 0.5 * span - myopic), float(quotes.max() + 0.5 * span + 2.0 * myopic)


def _fill_chance(market: Market, offset: np.ndarray, column: int) -> np.ndarray:
    """Per-step fill probability of one column's quotes [price] (each asset's bid, then each asset's ask): the fill
    rule at ``λ_side·f(δ)`` (``Asset.side_intensities``, ``Asset.fill_shape``), as the core fills."""
    side, index = divmod(column, market.n_assets)
    asset = market.assets[index]
    return fill_probability(market, asset.side_intensities[side], asset.fill_shape(offset))
