"""The practitioner's answer to informed flow: the maker's Bayesian filter (``envs.flow``) feeding the closed form
with certainty equivalence. At belief b the expected direction ``m = Σ_s b(s)·z_s`` is taken as permanent: the
requests arrive at ``λ_b·(1 − ζm)`` and ``λ_a·(1 + ζm)`` and the mid drifts ``μ + μ_flow·m`` (``Market.without_flow``
at m), and the book quotes the closed form of that market (``baselines.closed_form``, whose value carries the drift
and the one-sided flow). The closed forms are built on a grid of directions and each book quotes the one nearest its
m."""

from __future__ import annotations

import numpy as np

from baselines.closed_form import ClosedForm
from baselines.policy import MarketPolicy, Parameter


class FilteredClosedForm(MarketPolicy):
    """The closed form at the filtered belief's expected flow direction (module docstring); it reads each book's
    ``flow_belief``."""

    name = "filtered_closed_form"
    reads_state = True
    parameters = {
        "directions": Parameter(
            int,
            41,
            "41",
            "closed forms built on this many directions across the flow's range",
            (lambda v: v >= 2, "≥ 2"),
        ),
    }

    def __init__(self, world, **params) -> None:
        super().__init__(world, **params)
        market = self.market
        if market.flow.count == 1:
            raise ValueError(f"{self.name} needs a market with informed flow (a flow of several states)")
        self.grid = np.linspace(min(market.flow.directions), max(market.flow.directions), self.params["directions"])
        self.forms = [ClosedForm(market.without_flow(direction)) for direction in self.grid]

    def act(self, state):
        if "flow_belief" not in state:
            raise ValueError(f"{self.name} quotes from the maker's filtered belief: give it the books' flow_belief")
        direction = state["flow_belief"] @ np.asarray(self.market.flow.directions)
        nearest = np.abs(direction[:, None] - self.grid).argmin(axis=1)
        inventory = state["inventory"]
        bid, ask = np.empty(inventory.shape), np.empty(inventory.shape)
        for index in np.unique(nearest):
            books = nearest == index
            quoted = self.forms[index].quotes(
                inventory[books], state["time_to_close"][books], state["volatility"][books]
            )
            bid[books], ask[books] = quoted
        return bid, ask, None

    def quotes(self, inventory, time_to_close, volatility):
        """The quotes at the open's belief (the flow chain's stationary law)."""
        n = np.shape(time_to_close)[0]
        belief = np.broadcast_to(self.market.stationary_flow_distribution, (n, self.market.flow.count))
        state = {
            "inventory": inventory,
            "time_to_close": time_to_close,
            "volatility": volatility,
            "flow_belief": belief,
        }
        return self.act(state)[:2]
