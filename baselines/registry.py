"""The policy registry: build any classic policy by name from a world."""

from __future__ import annotations

from typing import Any

from baselines.avellaneda_stoikov import AvellanedaStoikov
from baselines.calibration import CalibratedLinearSkew
from baselines.cartea_jaimungal import CarteaJaimungal
from baselines.glft import GLFT, GLFTExact
from baselines.hedging import BandHedge, FullHedge, NoHedge
from baselines.linear_skew import LinearSkew
from baselines.optimal import Optimal
from baselines.policy import Policy
from baselines.riccati import Riccati
from baselines.symmetric import Symmetric
from envs import World

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        Symmetric,
        LinearSkew,
        CalibratedLinearSkew,
        AvellanedaStoikov,
        GLFT,
        GLFTExact,
        CarteaJaimungal,
        Riccati,
        NoHedge,
        FullHedge,
        BandHedge,
        Optimal,
    )
}
# Policies that quote as another (their ``base``) and add a hedge rule: never a base themselves.
HEDGERS = ("no_hedge", "full_hedge", "band_hedge")


def list_policies() -> dict[str, dict[str, dict[str, str]]]:
    """Every policy name with its parameters: ``{name: {parameter: {"type", "default", "doc"}}}``."""
    return {
        name: {
            key: {"type": p.kind.__name__, "default": p.default_text, "doc": p.doc} for key, p in cls.parameters.items()
        }
        for name, cls in POLICIES.items()
    }


def make_policy(name: str, world: World, **params: Any) -> Policy:
    """Build policy ``name`` for ``world``; ``ValueError`` names an unknown policy or parameter."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; accepted: {sorted(POLICIES)}")
    return POLICIES[name](world, **params)
