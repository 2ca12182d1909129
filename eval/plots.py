"""Figures researchers expect: inventory paths on common seeds, P&L and final-inventory histograms, and
bid/ask offsets against inventory at several times to close (learned vs closed form vs optimum); with a
hedge instrument also the hedge position held against inventory, and the quotes at several hedge
positions (learned vs ``closed_form`` vs ``optimal``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from baselines import make_policy  # noqa: E402
from envs import (  # noqa: E402
    MarketBatch,
    World,
    action_to_hedge,
    action_to_quotes,
    clip_trade,
    core,
    interface_of,
    market_keys,
    observation_at,
    round_to_lot,
)
from envs.rollout import Rollout  # noqa: E402

TIME_FRACTIONS = (1.0, 0.5, 0.1)
PATHS_SHOWN = 8
REFERENCES = ("avellaneda_stoikov", "optimal")
HEDGED_REFERENCES = ("closed_form", "optimal")
HEDGE_FRACTIONS = (-0.5, 0.0, 0.5)


def visited_inventory(world: World, rollouts: Sequence[Rollout]) -> int:
    """Half-width [lots] of the quotes figure's inventory axis: the largest ``|q|`` any of the rollouts
    reached, with a quarter more as margin, at least 2 and at most Q."""
    reach = max((float(r.max_abs_inventory.max()) for r in rollouts), default=float(world.max_inventory))
    return int(min(world.max_inventory, max(2.0, np.ceil(1.25 * reach))))


def quote_curves(
    world: World,
    policy,
    time_fraction: float,
    regime: int = 0,
    inventory_limit: int | None = None,
    hedge_position: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bid and ask offsets [price] over inventories ``−limit … limit`` (default Q) at one time to close
    (and hedge position, before the policy's own trade), through ``policy.predict`` on synthetic
    observations (extra features at zero); ``nan`` where a side is pulled."""
    limit = world.max_inventory if inventory_limit is None else inventory_limit
    inventory = np.arange(-limit, limit + 1)
    steps_left = int(np.rint(time_fraction * world.n_steps))
    observation = observation_at(world, inventory[:, None], steps_left, regime, hedge_position)
    actions, _ = policy.predict(observation, deterministic=True)
    bid, ask, bid_quoted, ask_quoted = (side[:, 0] for side in action_to_quotes(world, np.asarray(actions)))
    return inventory, np.where(bid_quoted, bid, np.nan), np.where(ask_quoted, ask, np.nan)


def compared_policies(world: World, policies: dict[str, tuple]) -> dict[str, object]:
    """What the quotes figure compares: the learned policies (spec name ``run``), ``avellaneda_stoikov`` and
    ``optimal`` from ``policies`` (label → (spec, policy)), the last two built with their defaults when
    absent and where the world allows."""
    references = HEDGED_REFERENCES if world.hedged else REFERENCES
    compared = {label: policy for label, (spec, policy) in policies.items() if spec.name in ("run", *references)}
    for name in references:
        if not any(spec.name == name for spec, _ in policies.values()):
            try:
                compared[name] = make_policy(name, world)
            except ValueError:  # e.g. a world too large for the optimum's table
                pass
    return compared


def _panel_row(count: int) -> tuple[Figure, Sequence]:
    """A figure of ``count`` side-by-side panels sharing their y axis."""
    figure, axes = plt.subplots(1, count, figsize=(5 * count, 4), sharey=True, squeeze=False)
    return figure, axes[0]


def _finished(figure: Figure, axes: Sequence, ylabel: str) -> Figure:
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=7)
    figure.tight_layout()
    return figure


def _plot_quotes(axis, world: World, policies: dict[str, object], fraction: float, limit: int, hedge_position=0):
    """Each policy's bid (solid) and ask (dashed) against inventory, one colour per policy."""
    for index, (label, policy) in enumerate(policies.items()):
        q, bid, ask = quote_curves(world, policy, fraction, inventory_limit=limit, hedge_position=hedge_position)
        axis.plot(q, bid, color=f"C{index}", label=f"{label} bid")
        axis.plot(q, ask, color=f"C{index}", linestyle="--", label=f"{label} ask")


def _plot_book_quotes(axis, q: np.ndarray, policies: dict[str, object], positions: tuple, asset: int = 0) -> None:
    """Each policy's bid (solid) and ask (dashed) of one asset against ``q``, the policies called on the books'
    ``positions`` (a dealing rule's arguments), one colour per policy."""
    for index, (label, policy) in enumerate(policies.items()):
        bid, ask, _ = policy(*positions)
        if np.ndim(bid) == 3:  # per-size quotes: the smallest size (thin) and the largest (thick)
            sizes = policy.market.assets[asset].sizes
            for k, width in ((0, 0.8), (len(sizes) - 1, 2.0)):
                axis.plot(q, bid[:, asset, k], color=f"C{index}", linewidth=width, label=f"{label} bid, {sizes[k]:,}")
                axis.plot(
                    q,
                    ask[:, asset, k],
                    color=f"C{index}",
                    linewidth=width,
                    linestyle="--",
                    label=f"{label} ask, {sizes[k]:,}",
                )
            continue
        axis.plot(q, bid[:, asset], color=f"C{index}", label=f"{label} bid")
        axis.plot(q, ask[:, asset], color=f"C{index}", linestyle="--", label=f"{label} ask")


def quotes_figure(
    world: World,
    policies: dict[str, object],
    time_fractions: Sequence[float] = TIME_FRACTIONS,
    inventory_limit: int | None = None,
) -> Figure:
    """Quotes against inventory at several times to close, over ``±inventory_limit`` (default Q; see
    ``visited_inventory``), with the limit Q marked when it lies within a fifth of the plotted range."""
    limit = world.max_inventory if inventory_limit is None else inventory_limit
    figure, axes = _panel_row(len(time_fractions))
    for axis, fraction in zip(axes, time_fractions, strict=True):
        _plot_quotes(axis, world, policies, fraction, limit)
        axis.axhline(0.0, color="grey", linewidth=0.5)
        if world.max_inventory <= 1.2 * limit:
            for side in (-1, 1):
                axis.axvline(side * world.max_inventory, color="black", linestyle=":", linewidth=0.8)
            axis.text(world.max_inventory, 0.0, " Q", fontsize=8, va="bottom", ha="right")
        axis.set_xlim(-1.05 * limit, 1.05 * limit)
        axis.set_title(f"time to close {fraction:.0%} of the session")
        axis.set_xlabel("inventory q [lots]")
    return _finished(figure, axes, "offset from mid δ [price]")


def market_quotes_figure(market, policies: dict[str, object], asset: int = 0, time_fraction: float = 0.5) -> Figure:
    """One asset's bid (solid) and ask (dashed) against its own inventory, one panel per inventory of the next
    asset (−Q/2, 0, +Q/2), at ``time_fraction`` of the session to close, hedges flat and, in a market with regimes,
    in the regime the chain spends most time in; ``policies`` map names to policies (``baselines.Policy``, learned ones included)."""
    other = (asset + 1) % market.n_assets
    own_limit, other_limit = market.assets[asset].max_inventory, market.assets[other].max_inventory
    unit, other_unit = market.assets[asset].inventory_unit, market.assets[other].inventory_unit
    q = np.arange(-own_limit, own_limit + 1, unit)
    half = other_limit // 2 // other_unit * other_unit
    held = [-half, 0, half] if market.n_assets > 1 else [0]
    regime = np.full(q.size, int(np.argmax(market.stationary_regime_distribution)))
    flat = np.zeros((q.size, market.n_hedges), dtype=np.int64)
    figure, axes = _panel_row(len(held))
    for axis, level in zip(axes, held, strict=True):
        inventory = np.zeros((q.size, market.n_assets), dtype=np.int64)
        inventory[:, asset] = q
        if market.n_assets > 1:
            inventory[:, other] = level
        _plot_book_quotes(
            axis, q, policies, (inventory, flat, np.full(q.size, time_fraction * market.horizon), regime), asset
        )
        axis.set_title(f"asset {other} inventory {level} lots" if market.n_assets > 1 else "one asset")
        axis.set_xlabel(f"asset {asset} inventory [lots]")
    return _finished(figure, axes, f"asset {asset} offset from mid δ [price]")


def flow_quotes_figure(market, policies: dict[str, object], time_fraction: float = 0.5) -> Figure:
    """With informed flow, the quotes against inventory at several beliefs: one panel per flow state, the maker
    certain of it (the belief its point mass; ``full_information`` told the state), at ``time_fraction`` of the
    session to close. A learned policy that does not observe the belief sees the same observation in every panel."""
    asset = market.assets[0]
    q = np.arange(-asset.max_inventory, asset.max_inventory + 1)
    inventory = np.zeros((q.size, market.n_assets), dtype=np.int64)
    inventory[:, 0] = q
    flat = np.zeros((q.size, market.n_hedges), dtype=np.int64)
    states = market.flow.count
    figure, axes = _panel_row(states)
    for axis, state in zip(axes, range(states), strict=True):
        belief = np.zeros((q.size, states))
        belief[:, state] = 1.0
        time_to_close, hidden = np.full(q.size, time_fraction * market.horizon), np.full(q.size, state)
        _plot_book_quotes(axis, q, policies, (inventory, flat, time_to_close, None, belief, hidden))
        axis.set_title(f"belief: certain of z = {market.flow.directions[state]:+g}")
        axis.set_xlabel("inventory q [lots]")
    return _finished(figure, axes, "offset from mid δ [price]")


def belief_path_figure(market, seed: int = 0, sessions: int = 2) -> Figure:
    """The maker's filtered belief over ``sessions`` sessions beside the hidden flow state: the probability the
    belief gives each state (lines) and the state itself (shaded), step by step. Under the arrival fill rule the
    filter reads the public prints and the mid's moves only, so the path is the same whatever the maker quotes."""
    batch = MarketBatch(market, sessions, autoreset=False, track_belief=True)
    batch.reset(keys=market_keys(seed, sessions))
    beliefs, states = [batch.state.belief.copy()], [batch.state.flow.copy()]
    pulled = core.Action.quotes(np.full((sessions, 1), np.inf), np.full((sessions, 1), np.inf))
    for _ in range(market.n_steps):
        batch.step(pulled)
        beliefs.append(batch.state.belief.copy())
        states.append(batch.state.flow.copy())
    time = np.arange(market.n_steps + 1) * market.dt
    figure, axes = _panel_row(sessions)
    for session, axis in enumerate(axes):
        hidden = np.array(states)[:, session]
        for state, direction in enumerate(market.flow.directions):
            axis.fill_between(
                time, 0, 1, where=hidden == state, step="post", color=f"C{state}", alpha=0.15, linewidth=0
            )
            axis.plot(time, np.array(beliefs)[:, state, session], color=f"C{state}", label=f"z = {direction:+g}")
        axis.set_ylim(0, 1)
        axis.set_title(f"session {session} (shaded: the hidden state)")
        axis.set_xlabel("time [model units]")
    return _finished(figure, axes, "belief: probability of each flow state")


def comparison_quotes_figure(world, policies: dict[str, tuple], rollouts: Sequence[Rollout]) -> Figure:
    """The quotes figure of a paired evaluation (policies by label as ``(spec, policy)``): a single-asset world's
    quotes against inventory over the visited range (``quotes_figure``), a market's one asset against the next
    (``market_quotes_figure``), with informed flow at several beliefs (``flow_quotes_figure``)."""
    if not isinstance(world, World):
        market, by_label = interface_of(world).market, {label: policy for label, (_, policy) in policies.items()}
        if market.flow.count > 1:
            return flow_quotes_figure(market, by_label)
        return market_quotes_figure(market, by_label)
    limit = visited_inventory(world, rollouts)
    return quotes_figure(world, compared_policies(world, policies), inventory_limit=limit)


def held_hedge(world: World, policy, time_fraction: float, inventory_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The hedge position [lots] a policy comes to hold at each inventory ``−limit … limit``: its trades
    repeated from a flat hedge, at a fixed time to close, until the position stops moving."""
    inventory = np.arange(-inventory_limit, inventory_limit + 1)
    steps_left = int(np.rint(time_fraction * world.n_steps))
    position = np.zeros(inventory.size, dtype=np.int64)
    limit = world.hedge_max_position
    for _ in range(2 * limit // world.hedge_lot + 1):
        observation = observation_at(world, inventory[:, None], steps_left, 0, position[:, None])
        actions, _ = policy.predict(observation, deterministic=True)
        requested = action_to_hedge(world, np.asarray(actions))[:, 0]
        moved = position + clip_trade(requested, position, world.hedge_max_trade, limit)
        if np.array_equal(moved, position):
            break
        position = moved
    return inventory, position


def hedge_figure(
    world: World, policies: dict[str, object], inventory_limit: int, time_fractions: Sequence[float] = TIME_FRACTIONS
) -> Figure:
    """Hedge position held against inventory (``held_hedge``), with the minimum-variance hedge ``−ρσ₁/σ₂·q``."""
    figure, axes = _panel_row(len(time_fractions))
    for axis, fraction in zip(axes, time_fractions, strict=True):
        for index, (label, policy) in enumerate(policies.items()):
            q, position = held_hedge(world, policy, fraction, inventory_limit)
            axis.plot(q, position, color=f"C{index}", marker=".", label=label)
        axis.plot(
            q,
            np.clip(world.hedge_ratio * q, -world.hedge_max_position, world.hedge_max_position),
            color="grey",
            linestyle=":",
            label="minimum-variance hedge",
        )
        axis.set_title(f"time to close {fraction:.0%} of the session")
        axis.set_xlabel("inventory q₁ [lots]")
    return _finished(figure, axes, "hedge position held q₂ [lots]")


def hedged_quotes_figure(world: World, policies: dict[str, object], inventory_limit: int) -> Figure:
    """Quotes against inventory at half the session, one panel per hedge position (``HEDGE_FRACTIONS`` of
    Q₂), each after the policy's own hedge trade from that position."""
    positions = round_to_lot(np.array(HEDGE_FRACTIONS) * world.hedge_max_position, world.hedge_lot)
    figure, axes = _panel_row(len(positions))
    for axis, position in zip(axes, positions, strict=True):
        _plot_quotes(axis, world, policies, 0.5, inventory_limit, hedge_position=int(position))
        axis.set_title(f"hedge position {int(position):+d} lots, half the session left")
        axis.set_xlabel("inventory q₁ [lots]")
    return _finished(figure, axes, "offset from mid δ [price]")


def inventory_paths_figure(world: World, rollouts: dict[str, Rollout]) -> Figure:
    figure, axes = plt.subplots(1, len(rollouts), figsize=(4 * len(rollouts), 3.5), sharey=True, squeeze=False)
    time = np.arange(world.n_steps + 1) * world.dt
    for axis, (label, result) in zip(axes[0], rollouts.items(), strict=True):
        paths = result.inventory_paths[:, :PATHS_SHOWN, 0]
        axis.plot(time, paths, linewidth=0.8)
        axis.set_title(f"{label}\nmax |q| {result.max_abs_inventory.max():.0f}", fontsize=9)
        axis.set_xlabel("time")
    axes[0][0].set_ylabel("inventory q [lots]")
    figure.suptitle(f"inventory paths, first {PATHS_SHOWN} episodes (same seeds for every policy)")
    figure.tight_layout()
    return figure


def histogram_figure(rollouts: dict[str, Rollout], field: str, xlabel: str) -> Figure:
    figure, axis = plt.subplots(figsize=(6, 4))
    values = {label: getattr(result, field) for label, result in rollouts.items()}
    edges = np.histogram_bin_edges(np.concatenate(list(values.values())), bins=50)
    for label, data in values.items():
        axis.hist(data, bins=edges, histtype="step", label=label, density=True)
    axis.set_xlabel(xlabel)
    axis.set_ylabel("density")
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def close(figure: Figure) -> None:
    plt.close(figure)
