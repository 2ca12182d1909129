"""The exact optimum of a market with informed flow, over the maker's belief (its ceiling) and with the flow state
observed (the full-information bound), by backward induction.

One quoted asset with unit sizes, one volatility regime, no hedges (``check_flow_market``). In flow state s a side's
request arrives with ``π_s`` (the public print) and fills a quote at δ with ``F(δ) = min(f(δ), 1)`` whatever s
(``fill_rule = "arrival"``); the mid drifts ``m_s = (μ + μ_flow·z_s)·dt`` a step. With the prints ``o = (o_b, o_a)``
weighted ``ρ_o(s) = b(s)·π(o_b|s)·π(o_a|s)`` under belief b, and ``H_o(q') = Σ_s ρ_o(s)·(q'·m_s − pen(q') +
E[V_{n+1}(q', b'_o)])`` the value after the fills given the prints (b' the filter's next belief, ``envs.flow``, its
expectation over the mid's Gaussian move by Gauss–Hermite quadrature and the value linearly interpolated on a
Freudenthal grid of the belief simplex; Lovejoy 1991), the step's value is, as in ``baselines.optimal``,

    V_n(q, b) = Σ_o H_o(q) + F_b·(W_b·δ_b + G_b) + F_a·(W_a·δ_a + G_a) + F_b·F_a·X,

    W_b = ρ_10 + ρ_11,  G_b = W_b·(−fee − (q+1)·ξ) + Σ_{o_b=1} [H_o(q+1) − H_o(q)],
    W_a = ρ_01 + ρ_11,  G_a = W_a·(−fee + (q−1)·ξ) + Σ_{o_a=1} [H_o(q−1) − H_o(q)],
    X = 2ξ·ρ_11 + 2H_11(q) − H_11(q+1) − H_11(q−1),

each side maximized by ``baselines.optimal.best_offset`` given the other (coordinate ascent). With the state
observed, b is the state's point mass and ``E[V_{n+1}]`` the chain's transition applied to ``V_{n+1}(q', ·)``: the
same step, and its value minus the belief optimum's is the value of the information the maker lacks.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse

from baselines.optimal import MAX_STATES, best_offset
from baselines.policy import MarketPolicy, Parameter
from baselines.quote_table import steps_to_close
from envs import flow as flow_filter
from envs.market import Market

_COUPLING_ROUNDS = 2
# Gauss–Hermite nodes for the mid's move within a step.
QUADRATURE_NODES = 20
# The prints' outcomes (o_b, o_a), in the order of the value's arrays.
OUTCOMES = ((0, 0), (1, 0), (0, 1), (1, 1))


def check_flow_market(policy: str, market: Market) -> None:
    """``ValueError`` naming the first field of ``market`` a flow optimum does not tabulate."""
    asset = market.assets[0]
    checks = [
        ("flow", market.flow.count > 1, "informed flow (a flow of several states)", f"{market.flow.count} state"),
        ("assets", market.n_assets == 1, "one quoted asset", f"{market.n_assets} assets"),
        ("hedges", market.n_hedges == 0, "no hedge instrument", f"{market.n_hedges} hedges"),
        ("regimes", market.regimes.count == 1, "one volatility regime", f"{market.regimes.count} regimes"),
        ("assets[0].sizes", tuple(asset.sizes) == (1,), "unit sizes (1,)", f"sizes {tuple(asset.sizes)}"),
    ]
    for field, holds, accepted, found in checks:
        if not holds:
            raise ValueError(f"{policy} tabulates a market of {accepted}; this market's {field} holds {found}")


def simplex_grid(states: int, resolution: int) -> np.ndarray:
    """Every belief over ``states`` states whose entries are multiples of ``1/resolution``, ``(B, states)``, in the
    order ``simplex_index`` numbers them."""
    points = [c for c in itertools.product(range(resolution + 1), repeat=states - 1) if sum(c) <= resolution]
    counts = np.array([(resolution - sum(c), *c) for c in points], dtype=np.float64)
    return counts / resolution


def simplex_index(counts: np.ndarray, resolution: int) -> np.ndarray:
    """Index in ``simplex_grid`` of grid beliefs given as integer counts ``(…, S)`` summing to ``resolution``."""
    tail = counts[..., 1:]
    states = counts.shape[-1]
    flat = np.ravel_multi_index(tuple(np.moveaxis(tail, -1, 0)), (resolution + 1,) * (states - 1))
    return _index_table(states, resolution)[flat]


_INDEX_TABLES: dict[tuple[int, int], np.ndarray] = {}


def _index_table(states: int, resolution: int) -> np.ndarray:
    key = (states, resolution)
    if key not in _INDEX_TABLES:
        grid = np.rint(simplex_grid(states, resolution) * resolution).astype(np.int64)
        table = np.full((resolution + 1) ** (states - 1), -1, dtype=np.int64)
        table[np.ravel_multi_index(tuple(grid[:, 1:].T), (resolution + 1,) * (states - 1))] = np.arange(len(grid))
        _INDEX_TABLES[key] = table
    return _INDEX_TABLES[key]


def simplex_interpolation(belief: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation on the simplex grid (Freudenthal's triangulation; Lovejoy 1991): for beliefs ``(…, S)``,
    the indices ``(…, S)`` of the S grid beliefs around each and their weights (≥ 0, summing to 1), which reproduce
    the belief exactly and any function linear on the simplex."""
    belief = np.asarray(belief, dtype=np.float64)
    states = belief.shape[-1]
    scaled = np.clip(belief, 0.0, None) * resolution
    scaled *= resolution / scaled.sum(axis=-1, keepdims=True)
    # Cumulative coordinates v_j = Σ_{i ≥ j} x_i, j = 1 … S−1 (v_0 = resolution is fixed).
    cumulative = np.cumsum(scaled[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    base = np.floor(cumulative + 1e-12)
    fraction = np.clip(cumulative - base, 0.0, 1.0)
    order = np.argsort(-fraction, axis=-1, kind="stable")
    sorted_fraction = np.take_along_axis(fraction, order, axis=-1)
    weights = np.concatenate(
        [
            1.0 - sorted_fraction[..., :1],
            sorted_fraction[..., :-1] - sorted_fraction[..., 1:],
            sorted_fraction[..., -1:],
        ],
        axis=-1,
    )
    vertices = np.empty(belief.shape[:-1] + (states,), dtype=np.int64)
    current = base.astype(np.int64)
    for k in range(states):
        if k:  # the next vertex: one more unit on the coordinate with the k-th largest fraction
            moved = order[..., k - 1 : k]
            np.put_along_axis(current, moved, np.take_along_axis(current, moved, -1) + 1, -1)
        full = np.concatenate(
            [np.full(current.shape[:-1] + (1,), resolution), current, np.zeros_like(current[..., :1])], -1
        )
        vertices[..., k] = simplex_index(np.clip(full[..., :-1] - full[..., 1:], 0, resolution), resolution)
    return vertices, weights


def _fill_shape(market: Market, offset: np.ndarray) -> np.ndarray:
    """``F(δ) = min(f(δ), 1)``: the chance a request that arrived fills a quote at ``offset`` [price]."""
    return np.minimum(market.assets[0].fill_shape(offset), 1.0)


def _offset_of(market: Market, chance: np.ndarray) -> np.ndarray:
    """The offset [price] at which ``F(δ) = chance``, ``+inf`` (pulled) where it is 0."""
    asset = market.assets[0]
    chance = np.clip(np.asarray(chance, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        if asset.fill_curve == "exponential":
            offset = -np.log(chance) / asset.fill_decay
        else:
            offset = (np.log(1.0 / chance - 1.0) - asset.fill_shift) / asset.fill_slope
    return np.where(chance > 0, offset, np.inf)


class _FlowTabulation(MarketPolicy):
    """The backward induction both flow optima share: subclasses give the belief points the value is tabulated on
    (``_points``, ``_weights``) and the expected next value per point, prints' outcome and state (``_continuation``)."""

    reads_state = True

    def __init__(self, world, **params) -> None:
        super().__init__(world, **params)
        market = self.market
        check_flow_market(self.name, market)
        self.evidence = flow_filter.flow_evidence(market)
        asset, limit = market.assets[0], market.assets[0].max_inventory
        self._setup()
        points = self._points()
        states = market.n_steps * points * (2 * limit + 1)
        if states > MAX_STATES:
            raise ValueError(
                f"{self.name} cannot be built for this market: its (step, belief, inventory) grid has {states:,} "
                f"states, more than the {MAX_STATES:,} this tabulation allows; lower max_inventory or the belief grid"
            )
        q = np.arange(-limit, limit + 1, dtype=np.float64)
        low, high = self.view.offset_range[0]
        chance = self.evidence.print_chance[:, 0, :]  # (2, S)
        outcome = np.array(
            [[chance[0] if b else 1 - chance[0], chance[1] if a else 1 - chance[1]] for b, a in OUTCOMES]
        )
        step_mean = (asset.drift * market.dt + self.evidence.step_drift)[:, None] * q  # (S, Nq): q'·m_s
        steps = market.n_steps
        self.value = np.zeros((steps + 1, points, q.size))
        self.chances = np.zeros((steps, 2, points, q.size), dtype=np.float32)
        allowed = np.stack([q < limit, q > -limit])  # (2, Nq)
        fee, jump = asset.fee, asset.adverse_jump
        warm = np.zeros((2, points, q.size))
        for n in range(steps - 1, -1, -1):
            penalty = (market.penalty.running * market.dt + market.penalty.terminal * (n == steps - 1)) * q * q
            weight = self._weights(outcome)  # (B, 4, S): ρ_o(s)
            after = step_mean - penalty + self._continuation(self.value[n + 1])  # (B, 4, S, Nq)
            held = np.einsum("bos,bosq->boq", weight, after)  # H_o(q')
            mass = weight.sum(axis=-1)  # (B, 4): ρ_o
            up = np.concatenate([held[..., 1:], held[..., -1:]], axis=-1)
            down = np.concatenate([held[..., :1], held[..., :-1]], axis=-1)
            bid_mass, ask_mass = mass[:, 1] + mass[:, 3], mass[:, 2] + mass[:, 3]
            gain = np.stack(
                [
                    bid_mass[:, None] * (-fee - (q + 1) * jump) + (up - held)[:, [1, 3]].sum(axis=1),
                    ask_mass[:, None] * (-fee + (q - 1) * jump) + (down - held)[:, [2, 3]].sum(axis=1),
                ]
            )
            coupling = 2 * jump * mass[:, 3:4] + 2 * held[:, 3] - up[:, 3] - down[:, 3]
            masses = np.stack([bid_mass, ask_mass])[:, :, None]  # (2, B, 1)
            for _ in range(_COUPLING_ROUNDS):
                constant = (gain + warm[::-1] * coupling) / masses
                offset, warm = best_offset(lambda d: _fill_shape(market, d), constant, low, high)
                warm = np.where(allowed[:, None, :], warm, 0.0)
            offset = np.where(warm > 0, offset, 0.0)
            self.value[n] = (
                held.sum(axis=1) + (warm * (masses * offset + gain)).sum(axis=0) + warm[0] * warm[1] * coupling
            )
            self.chances[n] = warm

    def _setup(self) -> None:
        """Tables that depend on the market only, built before the induction."""

    def _points(self) -> int:
        raise NotImplementedError

    def _weights(self, outcome: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _continuation(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _opening_value(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def expected_reward(self) -> float:
        """Exact expected episode reward from the open [price] (up to the belief grid's interpolation): over the
        opening inventories and the flow chain's stationary law."""
        low, high = self.market.assets[0].inventory_bounds
        limit = self.market.assets[0].max_inventory
        return float(self._opening_value(self.value[0][:, low + limit : high + limit + 1]).mean())

    def _quotes_at(self, step: np.ndarray, points: np.ndarray, weights: np.ndarray, inventory: np.ndarray):
        """Quotes [price] from the fill chances tabulated at ``points`` ``(n, k)`` of each book, weighted."""
        i = inventory + self.market.assets[0].max_inventory
        chance = (self.chances[step[:, None], :, points, i[:, None]] * weights[..., None]).sum(axis=1)  # (n, 2)
        offset = _offset_of(self.market, chance)
        return offset[:, :1], offset[:, 1:]

    def _step(self, time_to_close: np.ndarray) -> np.ndarray:
        return np.minimum(self.market.n_steps - steps_to_close(self.market, time_to_close), self.market.n_steps - 1)


class FlowOptimal(_FlowTabulation):
    """The exact optimum over the maker's belief, tabulated on (step, belief grid, inventory): the ceiling of a
    market with informed flow (module docstring). It quotes from each book's filtered belief (the decoded state's
    ``flow_belief``), interpolating the tabulated fill chances on the grid."""

    name = "optimal"
    parameters = {
        "belief_grid": Parameter(
            int,
            36,
            "36",
            "with informed flow: beliefs tabulated at multiples of 1/belief_grid",
            (lambda value: value >= 1, "≥ 1"),
        ),
    }

    def _setup(self) -> None:
        self.resolution = self.params["belief_grid"]
        self.grid = simplex_grid(self.market.flow.count, self.resolution)
        self._interpolation = self._next_belief_operator()

    def _points(self) -> int:
        return len(self.grid)

    def _weights(self, outcome: np.ndarray) -> np.ndarray:
        # ρ_o(s) = b(s)·π(o_b|s)·π(o_a|s): (B, 4, S)
        return self.grid[:, None, :] * (outcome[:, 0] * outcome[:, 1])[None]

    def _continuation(self, value: np.ndarray) -> np.ndarray:
        points, states = len(self.grid), self.market.flow.count
        return (self._interpolation @ value).reshape(points, len(OUTCOMES), states, -1)

    def _next_belief_operator(self) -> scipy.sparse.csr_matrix:
        """The sparse operator taking the next step's value on the grid to its expectation at each (grid belief,
        prints' outcome, true state): over the mid's move (Gauss–Hermite) of the value interpolated at the filter's
        next belief."""
        evidence, market = self.evidence, self.market
        nodes, node_weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
        node_weights = node_weights / math.sqrt(2.0 * math.pi)
        sigma_step = market.assets[0].sigma * math.sqrt(market.dt)
        residual = evidence.step_drift[:, None] + sigma_step * nodes[None, :]  # (S_true, K)
        alignment = evidence.weights[0] * residual
        prints = np.array(OUTCOMES).T[:, None, :, None, None]  # (2, 1, 4, 1, 1)
        prints = np.broadcast_to(prints, (2, 1, len(OUTCOMES), *residual.shape))
        log_likelihood = flow_filter.log_likelihood(evidence, prints, np.broadcast_to(alignment, prints.shape[2:]))
        prior = self.grid.T[:, :, None, None, None]  # (S, B, 1, 1, 1)
        posterior = flow_filter.posterior(prior, log_likelihood[:, None])  # (S, B, 4, S_true, K)
        following = flow_filter.predict(evidence, posterior)
        vertices, weights = simplex_interpolation(np.moveaxis(following, 0, -1), self.resolution)  # (B, 4, S, K, S)
        weights = weights * node_weights[:, None]
        rows = np.broadcast_to(
            np.arange(np.prod(vertices.shape[:3])).reshape(vertices.shape[:3])[..., None, None], vertices.shape
        )
        return scipy.sparse.csr_matrix(
            (weights.ravel(), (rows.ravel(), vertices.ravel())),
            shape=(int(np.prod(vertices.shape[:3])), len(self.grid)),
        )

    def _opening_value(self, value: np.ndarray) -> np.ndarray:
        vertices, weights = simplex_interpolation(self.evidence.opening, self.resolution)
        return (value[vertices] * weights[:, None]).sum(axis=0)

    def act(self, state):
        if "flow_belief" not in state:
            raise ValueError(
                "optimal in a market with informed flow quotes from the maker's filtered belief: observe the "
                "'flow_belief' feature, or call it on positions with the books' beliefs"
            )
        vertices, weights = simplex_interpolation(state["flow_belief"], self.resolution)
        bid, ask = self._quotes_at(self._step(state["time_to_close"]), vertices, weights, state["inventory"][:, 0])
        return bid, ask, None

    def quotes(self, inventory, time_to_close, volatility):
        """The quotes at the open's belief (the flow chain's stationary law), a function of inventory and time."""
        n = np.shape(time_to_close)[0]
        belief = np.broadcast_to(self.evidence.opening, (n, self.market.flow.count))
        return self.act({"inventory": inventory, "time_to_close": time_to_close, "flow_belief": belief})[:2]


class FullInformation(_FlowTabulation):
    """The exact optimum of a maker who observes the flow state, tabulated on (step, state, inventory): the bound
    no filter can pass; its value minus ``optimal``'s is the value of the information the maker lacks. It reads each
    book's hidden state (the decoded state's ``flow_state``), which only a dealing rule is given."""

    name = "full_information"
    parameters = {}

    def _points(self) -> int:
        return self.market.flow.count

    def _weights(self, outcome: np.ndarray) -> np.ndarray:
        return (outcome[:, 0] * outcome[:, 1])[None] * np.eye(self._points())[:, None, :]

    def _continuation(self, value: np.ndarray) -> np.ndarray:
        following = self.evidence.transition @ value  # (S, Nq): E[V_{n+1}(q', s') | s]
        states = self._points()
        return np.broadcast_to(following[None, None], (states, len(OUTCOMES), states, value.shape[-1]))

    def _opening_value(self, value: np.ndarray) -> np.ndarray:
        return self.evidence.opening @ value

    def act(self, state):
        if "flow_state" not in state:
            raise ValueError("full_information reads each book's hidden flow state: call it on positions in a rollout")
        states = np.asarray(state["flow_state"], dtype=np.int64)[:, None]
        bid, ask = self._quotes_at(
            self._step(state["time_to_close"]), states, np.ones(states.shape), state["inventory"][:, 0]
        )
        return bid, ask, None
