"""Rung 3's rule-based hedgers: a quoting policy for the quoted asset plus a rule for the hedge leg.

Each quotes as its ``base`` policy (any registered quoting policy, ``optimal`` by default) built on the
quoted market alone (``World.without_hedge``), and trades the hedge instrument by its rule:

- ``no_hedge``: never trades it; the base's world keeps the full penalty on q₁.
- ``full_hedge``: each step trades toward the minimum-variance hedge ``q₂ = −ρ·σ₁/σ₂·q₁`` (rounded to the
  hedge lot, at most ``U_max`` a step), whatever it costs; the base quotes for the basis risk left,
  the penalties scaled by ``1 − ρ²``.
- ``band_hedge``: hedges only the inventory beyond ``±band`` lots, a ``fraction`` of that excess; the base
  keeps the full penalty (inside the band the inventory is unhedged).
"""

from __future__ import annotations

import numpy as np

from baselines.policy import NON_NEGATIVE, OneAssetPolicy, Parameter
from envs import World, clip_trade, round_to_lot

_BASE = Parameter(
    str,
    "optimal",
    "optimal",
    "the quoting policy (a registered name, not a hedger), built on the quoted market alone",
)


class _Hedger(OneAssetPolicy):
    """A base quoting policy plus a hedge rule; subclasses set ``risk_share`` and ``target``."""

    parameters = {"base": _BASE}

    def __init__(self, world: World, **params) -> None:
        super().__init__(world, **params)
        world = self.world  # a one-asset market arrives as its World
        # The registry imports this module; a base is looked up in it when built, never at import.
        from baselines.registry import HEDGERS, make_policy

        base = self.params["base"]
        if base in HEDGERS:
            raise ValueError(f"parameter 'base' of policy {self.name!r} must be a quoting policy, not {base!r}")
        try:
            self.base = make_policy(base, world.without_hedge(self.risk_share()))
        except ValueError as error:
            raise ValueError(f"parameter 'base' of policy {self.name!r}: {error}") from None

    def risk_share(self) -> float:
        return 1.0

    def target(self, inventory: np.ndarray) -> np.ndarray | None:
        """Hedge position to trade toward [lots], or ``None`` for no trade."""
        return None

    def quotes(self, inventory, time_to_close, volatility):
        return self.base.quotes(inventory, time_to_close, volatility)

    def act_one(self, decoded):
        bid, ask = self.quotes(decoded["inventory"], decoded["time_to_close"], decoded["volatility"])
        target = self.target(decoded["inventory"]) if self.world.hedged else None
        if target is None:
            return bid, ask, None
        position = decoded["hedge_position"]
        world = self.world
        requested = round_to_lot(target, world.hedge_lot) - position
        return bid, ask, clip_trade(requested, position, world.hedge_max_trade, world.hedge_max_position)


class NoHedge(_Hedger):
    """The base quoting policy; the hedge instrument is never traded."""

    name = "no_hedge"


class FullHedge(_Hedger):
    """Quotes as the base for the basis risk; trades toward the minimum-variance hedge every step."""

    name = "full_hedge"

    def risk_share(self) -> float:
        return 1.0 - self.world.hedge_correlation**2 if self.world.hedged else 1.0

    def target(self, inventory):
        return self.world.hedge_ratio * inventory


class BandHedge(_Hedger):
    """Hedges ``fraction`` of the inventory beyond ``±band`` lots at the minimum-variance ratio."""

    name = "band_hedge"
    parameters = {
        "base": _BASE,
        "band": Parameter(
            float,
            lambda world: round(world.natural_scales["inventory_std"], 1),
            "the inventory's natural standard deviation (envs.natural_scales)",
            "inventory left unhedged [lots]",
            bound=NON_NEGATIVE,
        ),
        "fraction": Parameter(
            float, 1.0, "1", "share of the excess hedged", bound=(lambda v: 0 <= v <= 1, "in [0, 1]")
        ),
    }

    def target(self, inventory):
        band, fraction = self.params["band"], self.params["fraction"]
        excess = inventory - np.clip(inventory, -band, band)
        return self.world.hedge_ratio * fraction * excess
