"""The policy registry: build any classic policy by name for any market it can quote."""

from __future__ import annotations

from typing import Any

from baselines.avellaneda_stoikov import AvellanedaStoikov
from baselines.calibration import CalibratedLinearSkew
from baselines.cartea_jaimungal import CarteaJaimungal
from baselines.closed_form import ClosedForm, PerAsset
from baselines.filtered_closed_form import FilteredClosedForm
from baselines.flow_optimal import FlowOptimal, FullInformation
from baselines.glft import GLFT, GLFTExact
from baselines.hedging import BandHedge, FullHedge, NoHedge
from baselines.joint_optimal import exact_optimum
from baselines.linear_skew import LinearSkew
from baselines.optimal import Optimal
from baselines.policy import Policy, asset_by_asset
from baselines.symmetric import Symmetric
from envs import Market, World, interface_of

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
        PerAsset,
        ClosedForm,
        NoHedge,
        FullHedge,
        BandHedge,
        Optimal,
    )
}
# Policies of markets with informed flow only: the filter's certainty-equivalent closed form, and the bound that reads
# the hidden flow state.
FLOW_POLICIES: dict[str, type[Policy]] = {cls.name: cls for cls in (FilteredClosedForm, FullInformation)}
# Policies that quote as another (their ``base``) and add a hedge rule: never a base themselves.
HEDGERS = ("no_hedge", "full_hedge", "band_hedge")
# One-asset rungs that quote a market of several assets asset by asset (``baselines.policy.AssetByAsset``).
ASSET_BY_ASSET = ("glft_exact", "cartea_jaimungal")
# Policies of one quoted asset only; every other quotes a market of any number of assets.
ONE_ASSET = tuple(name for name, cls in POLICIES.items() if cls.one_asset and name not in ("optimal", *ASSET_BY_ASSET))


def list_policies() -> dict[str, dict[str, dict[str, str]]]:
    """Every policy name with its parameters: ``{name: {parameter: {"type", "default", "doc"}}}`` (``optimal``'s are
    those of a market with informed flow, the only one where it takes any)."""
    classes = {**POLICIES, **FLOW_POLICIES, "optimal": FlowOptimal}
    return {
        name: {
            key: {"type": p.kind.__name__, "default": p.default_text, "doc": p.doc}
            for key, p in classes[name].parameters.items()
        }
        for name in {**POLICIES, **FLOW_POLICIES}
    }


def make_policy(name: str, world: World | Market, **params: Any) -> Policy:
    """Build policy ``name`` for ``world`` (a single-asset ``World`` or a ``Market`` of any number of assets);
    ``ValueError`` names an unknown policy or parameter, or why the policy cannot quote this market. ``optimal``
    is the exact optimum of any market it can tabulate (``baselines.joint_optimal.exact_optimum``)."""
    if name in FLOW_POLICIES:
        return FLOW_POLICIES[name](world, **params)
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; accepted: {sorted([*POLICIES, *FLOW_POLICIES])}")
    assets = interface_of(world).market.n_assets
    if name in ONE_ASSET and assets > 1:
        others = sorted(set(POLICIES) - set(ONE_ASSET))
        raise ValueError(
            f"policy {name!r} quotes one asset; this market has {assets} (policies of any market: {others})"
        )
    if name == "optimal":
        if interface_of(world).market.flow.count > 1:
            return FlowOptimal(world, **params)
        if params:
            raise ValueError(
                f"optimal takes parameters ({sorted(FlowOptimal.parameters)}) only in a market with informed flow; "
                f"this market's optimum takes none; got {sorted(params)}"
            )
        return exact_optimum(world)
    if name in ASSET_BY_ASSET and assets > 1:
        return asset_by_asset(POLICIES[name])(world, **params)
    return POLICIES[name](world, **params)
