"""Figures researchers expect: inventory paths on common seeds, P&L and final-inventory histograms, and
bid/ask offsets against inventory at several times to close (learned vs closed form vs optimum)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from baselines import make_policy  # noqa: E402
from envs import World, action_to_quotes, observation_at  # noqa: E402
from envs.rollout import Rollout  # noqa: E402

TIME_FRACTIONS = (1.0, 0.5, 0.1)
PATHS_SHOWN = 8
REFERENCES = ("avellaneda_stoikov", "optimal")


def visited_inventory(world: World, rollouts: Sequence[Rollout]) -> int:
    """Half-width [lots] of the quotes figure's inventory axis: the largest ``|q|`` any of the rollouts
    reached, with a quarter more as margin, at least 2 and at most Q."""
    reach = max((float(r.max_abs_inventory.max()) for r in rollouts), default=float(world.max_inventory))
    return int(min(world.max_inventory, max(2.0, np.ceil(1.25 * reach))))


def quote_curves(
    world: World, policy, time_fraction: float, regime: int = 0, inventory_limit: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bid and ask offsets [price] over inventories ``−limit … limit`` (default Q) at one time to close,
    through ``policy.predict`` on synthetic observations (extra features at zero); ``nan`` where a side
    is pulled."""
    limit = world.max_inventory if inventory_limit is None else inventory_limit
    inventory = np.arange(-limit, limit + 1)
    observation = observation_at(world, inventory, int(np.rint(time_fraction * world.n_steps)), regime)
    actions, _ = policy.predict(observation, deterministic=True)
    bid, ask, bid_quoted, ask_quoted = action_to_quotes(world, np.asarray(actions))
    return inventory, np.where(bid_quoted, bid, np.nan), np.where(ask_quoted, ask, np.nan)


def compared_policies(world: World, policies: dict[str, tuple]) -> dict[str, object]:
    """What the quotes figure compares: the learned policies (spec name ``run``), ``avellaneda_stoikov`` and
    ``optimal`` from ``policies`` (label → (spec, policy)), the last two built with their defaults when
    absent and where the world allows."""
    compared = {label: policy for label, (spec, policy) in policies.items() if spec.name in ("run", *REFERENCES)}
    for name in REFERENCES:
        if not any(spec.name == name for spec, _ in policies.values()):
            try:
                compared[name] = make_policy(name, world)
            except ValueError:  # e.g. a world too large for the optimum's table
                pass
    return compared


def quotes_figure(
    world: World,
    policies: dict[str, object],
    time_fractions: Sequence[float] = TIME_FRACTIONS,
    inventory_limit: int | None = None,
) -> Figure:
    """Quotes against inventory at several times to close, over ``±inventory_limit`` (default Q; see
    ``visited_inventory``), with the limit Q marked when it lies within a fifth of the plotted range."""
    limit = world.max_inventory if inventory_limit is None else inventory_limit
    figure, axes = plt.subplots(
        1, len(time_fractions), figsize=(5 * len(time_fractions), 4), sharey=True, squeeze=False
    )
    for axis, fraction in zip(axes[0], time_fractions, strict=True):
        for index, (label, policy) in enumerate(policies.items()):
            q, bid, ask = quote_curves(world, policy, fraction, inventory_limit=limit)
            color = f"C{index}"
            axis.plot(q, bid, color=color, label=f"{label} bid")
            axis.plot(q, ask, color=color, linestyle="--", label=f"{label} ask")
        axis.axhline(0.0, color="grey", linewidth=0.5)
        if world.max_inventory <= 1.2 * limit:
            for side in (-1, 1):
                axis.axvline(side * world.max_inventory, color="black", linestyle=":", linewidth=0.8)
            axis.text(world.max_inventory, 0.0, " Q", fontsize=8, va="bottom", ha="right")
        axis.set_xlim(-1.05 * limit, 1.05 * limit)
        axis.set_title(f"time to close {fraction:.0%} of the session")
        axis.set_xlabel("inventory q [lots]")
    axes[0][0].set_ylabel("offset from mid δ [price]")
    axes[0][-1].legend(fontsize=7)
    figure.tight_layout()
    return figure


def inventory_paths_figure(world: World, rollouts: dict[str, Rollout]) -> Figure:
    figure, axes = plt.subplots(1, len(rollouts), figsize=(4 * len(rollouts), 3.5), sharey=True, squeeze=False)
    time = np.arange(world.n_steps + 1) * world.dt
    for axis, (label, result) in zip(axes[0], rollouts.items(), strict=True):
        paths = result.inventory_paths[:, :PATHS_SHOWN]
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
