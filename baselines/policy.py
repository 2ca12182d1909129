"""The one interface every policy answers, classic or learned, in every market (``Policy``): ``act`` on decoded
states (``envs.decode_observation``'s layout, per asset ``(n, d)``), SB3's ``predict`` on the env's own observations,
and a call on positions in price units, the dealing rule ``envs.rollout.rule_rollout`` runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from envs import Market, World, decode_observation, decoded_state, interface_of, quotes_to_action, world_of_market
from envs.interface import Interface


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A policy parameter: its type (``float``, ``int`` or ``str``), default (a value, a function of the world, or
    ``None``: derived by the policy from the market, per asset), what the default is in words, and its meaning with
    units."""

    kind: type
    default: Callable[[World], Any] | Any
    default_text: str
    doc: str
    bound: tuple[Callable[[float], bool], str] | None = None  # (test, accepted values in words)

    def resolve(self, world: World) -> Any:
        return self.default(world) if callable(self.default) else self.default


POSITIVE = (lambda value: value > 0, "> 0")
NON_NEGATIVE = (lambda value: value >= 0, "≥ 0")


class Policy:
    """Base class of every policy: subclasses set ``name`` and ``parameters`` and implement ``act``.

    A policy is built for a world: a single-asset ``World``, a ``Market`` of any number of assets or an
    ``envs.interface.Interface`` (``self.world`` as given; ``self.view`` its interface, ``self.market`` its physics).
    ``act(state)`` maps decoded states (``envs.decode_observation``: per asset ``(n, d)``, per hedge ``(n, m)``,
    ``time_to_close`` and ``regime`` ``(n,)``) to ``(bid_offset, ask_offset, hedge_trade)``: quotes ``(n, d)``
    [price, ``+inf`` pulls the side] and trades ``(n, m)`` [lots], or ``None`` for none. ``predict`` decodes
    observations, acts and returns the normalized actions a learned policy would, so evaluation treats both
    alike; calling the policy on positions in price units acts as a dealing rule (``envs.rollout.rule_rollout``).
    """

    name: ClassVar[str]
    parameters: ClassVar[dict[str, Parameter]] = {}
    one_asset: ClassVar[bool] = False  # quotes a single-asset world (or a one-asset market) only
    # Quotes from a book's state beyond its observation (the maker's filtered belief over an informed flow, or the
    # hidden flow state): evaluation deals it as a rule on the simulator's state (``envs.rollout.rule_rollout``).
    reads_state: ClassVar[bool] = False

    def __init__(self, world: Any, **params: Any) -> None:
        self.check_parameters(params)
        self.view = interface_of(world)
        self.market = self.view.market
        self.world = world
        self.params = {}
        for key, parameter in self.parameters.items():
            value = params.get(key, parameter.resolve(world))
            if value is None and parameter.default is None:  # derived by the policy from the market
                self.params[key] = None
                continue
            self.params[key] = _coerce(self.name, key, parameter.kind, value)
            if parameter.bound is not None and not parameter.bound[0](self.params[key]):
                raise ValueError(
                    f"parameter {key!r} of policy {self.name!r} must be {parameter.bound[1]}; got {value!r}"
                )

    @classmethod
    def check_parameters(cls, params: dict[str, Any]) -> None:
        """``ValueError`` naming any parameter the policy does not take, and those it does."""
        unknown = sorted(set(params) - set(cls.parameters))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for policy {cls.name!r}; accepted: {sorted(cls.parameters) or 'none'}"
            )

    def act(self, state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Quotes ``(n, d)`` [price] and hedge trades ``(n, m)`` [lots, or ``None`` for none] at decoded states."""
        raise NotImplementedError

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        """SB3's protocol: a batch of observations (or one) to normalized actions ``(n, legs)`` (``actions``)."""
        observation = np.asarray(observation)
        single = observation.ndim == 1
        actions = self.actions(observation[None, :] if single else observation, deterministic)
        return (actions[0] if single else actions), None

    def actions(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Normalized actions ``(n, legs)`` for a batch of observations ``(n, columns)``: ``act`` on their decoded
        states."""
        bid, ask, hedge = self.act(decode_observation(self.view, observation))
        if self.market.quote_buckets > 1 and np.ndim(bid) == 2:  # per side, (n, d): every size alike
            bid, ask = np.asarray(bid)[..., None], np.asarray(ask)[..., None]
        return quotes_to_action(self.view, bid, ask, hedge)

    def __call__(self, *positions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``act`` at books' positions, ``(inventory, hedge_position, time_to_close[, regime])`` as
        ``envs.decoded_state`` reads them (inventories ``(n, d)``, hedge positions ``(n, m)`` or ``None``, time to
        close ``(n,)``, regimes ``(n,)`` or ``None``): the dealing rule of ``envs.rollout.rule_rollout``."""
        return self.act(decoded_state(self.market, *positions))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({params})"


class MarketPolicy(Policy):
    """A policy of any market, one asset or many, quoting every asset at once: subclasses implement
    ``quotes(inventory (n, d) [lots], time_to_close (n,) [time], volatility (n, d) [price/√time])``, returning
    ``(bid_offset, ask_offset)``, each ``(n, d)`` [price], ``+inf`` for a pulled side; ``act`` adds no hedge trade
    unless a subclass says otherwise."""

    def quotes(
        self, inventory: np.ndarray, time_to_close: np.ndarray, volatility: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def act(self, state):
        return (*self.quotes(state["inventory"], state["time_to_close"], state["volatility"]), None)


class OneAssetPolicy(Policy):
    """A policy of one quoted asset, written for a single-asset ``World`` (its fields read as numbers):
    subclasses implement ``quotes(inventory, time_to_close, volatility)``, arrays ``(n,)`` of inventory [lots],
    time to close T − t [time] and current σ [price/√time], returning ``(bid_offset, ask_offset)`` [price,
    ``+inf`` for a pulled side], or ``act_one`` on the asset's columns of the decoded state (the quotes and no hedge
    trade by default, so every quoting policy is its own ``no_hedge`` in a world with a hedge instrument)."""

    one_asset = True

    def __init__(self, world: World | Market, **params: Any) -> None:
        super().__init__(one_asset_world(self.name, world), **params)

    def quotes(
        self, inventory: np.ndarray, time_to_close: np.ndarray, volatility: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def act_one(self, decoded: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Quotes [price] and hedge trade [lots, or ``None`` for none] at decoded states, each ``(n,)``."""
        bid, ask = self.quotes(decoded["inventory"], decoded["time_to_close"], decoded["volatility"])
        return bid, ask, None

    def act(self, state):
        rows = state["time_to_close"].shape
        columns = {name: v if v.ndim == 1 else v[:, 0] for name, v in state.items() if v.ndim == 1 or v.shape[1]}
        bid, ask, trade = self.act_one(columns)
        bid, ask = (np.broadcast_to(np.asarray(side, dtype=np.float64), rows)[:, None] for side in (bid, ask))
        return bid, ask, None if trade is None else np.reshape(trade, rows)[:, None]


class HedgingPolicy(OneAssetPolicy):
    """A policy that decides its quotes and its hedge trade together, from both positions: subclasses
    implement ``decide(inventory, hedge_position, time_to_close, volatility) -> (bid_offset, ask_offset,
    hedge_trade)`` [price, price, lots]; ``quotes`` is ``decide`` at a flat hedge, without its trade."""

    def decide(
        self, inventory: np.ndarray, hedge_position: np.ndarray, time_to_close: np.ndarray, volatility: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def quotes(self, inventory, time_to_close, volatility):
        bid, ask, _ = self.decide(inventory, np.zeros_like(inventory), time_to_close, volatility)
        return bid, ask

    def act_one(self, decoded):
        if not self.world.hedged:
            return super().act_one(decoded)
        return self.decide(
            decoded["inventory"], decoded["hedge_position"], decoded["time_to_close"], decoded["volatility"]
        )


def _coerce(policy: str, key: str, kind: type, value: Any) -> Any:
    if kind is str:
        ok = isinstance(value, str) and value != ""
    else:
        ok = not isinstance(value, bool) and (
            isinstance(value, Integral) if kind is int else isinstance(value, Real) and np.isfinite(value)
        )
    if not ok:
        what = "a non-empty name" if kind is str else f"a finite {kind.__name__}"
        raise ValueError(f"parameter {key!r} of policy {policy!r} must be {what}; got {value!r}")
    return kind(value)


def flattening_limit(market) -> np.ndarray:
    """``(d,)`` [lots]: per asset, the inventory from which no size can fill the side that grows it without passing
    ``±Q``, ``Q − z_min + 1`` (Q with unit sizes); ``pull_at_limit`` pulls that side there."""
    return market.column("max_inventory") - np.array([min(asset.sizes) for asset in market.assets]) + 1


def pull_at_limit(
    inventory: np.ndarray, bid: np.ndarray, ask: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hard position limit: at ``q ≥ limit`` quote no bid, at ``q ≤ −limit`` no ask (``+inf`` = pulled)."""
    return np.where(inventory >= limit, np.inf, bid), np.where(inventory <= -limit, np.inf, ask)


def exponential_only(policy: Policy) -> None:
    """``ValueError`` naming the assets whose fill curve is not the exponential ``A·e^(−kδ)`` a formula needs."""
    other = [i for i, asset in enumerate(policy.market.assets) if asset.fill_curve != "exponential"]
    if other:
        raise ValueError(f"{policy.name} needs exponential fill curves (A·e^(−kδ)); assets {other} are not")


def book_column(values: Any, like: np.ndarray) -> np.ndarray:
    """Per-book values ``(n,)`` shaped to broadcast against per-asset arrays like ``like``: ``(n, 1)`` against
    ``(n, d)``, unchanged against one asset's column ``(n,)``."""
    values = np.asarray(values, dtype=np.float64)
    return values[:, None] if np.ndim(like) == 2 and values.ndim == 1 else values


def one_asset_world(policy: str, world: World | Market) -> World:
    """``world`` as the single-asset ``World`` a one-asset policy reads (a one-asset ``Market`` converted by
    ``envs.world_of_market``; with informed flow, the market as a maker blind to the flow models it,
    ``Market.without_flow``); ``ValueError`` for a market of several assets."""
    if isinstance(world, Interface):
        world = world.market
    if isinstance(world, Market) and world.n_assets == 1:
        world = world_of_market(world.without_flow())
    if not isinstance(world, World):
        got = f"a market of {world.n_assets} assets" if isinstance(world, Market) else type(world).__name__
        raise ValueError(f"policy {policy!r} quotes one asset; got {got}")
    return world


class AssetByAsset(MarketPolicy):
    """A one-asset rung (``rung``, a ``OneAssetPolicy`` class) applied to each asset of a market alone
    (``Market.asset_alone``: its own flow, limit, regimes and share of the penalty), ignoring correlation and the
    other assets' inventories; ``params`` hold each asset's value of every parameter. Built by ``asset_by_asset``."""

    rung: ClassVar[type[OneAssetPolicy]]

    def __init__(self, world: Any, **params: Any) -> None:
        self.check_parameters(params)
        self.view = interface_of(world)
        self.market = self.view.market
        self.world = world
        self.rungs = []
        for index in range(self.market.n_assets):
            try:
                self.rungs.append(self.rung(self.market.asset_alone(index), **params))
            except ValueError as error:
                raise ValueError(f"{self.name} quotes each asset alone; asset {index}: {error}") from None
        self.params = {key: tuple(rung.params[key] for rung in self.rungs) for key in self.parameters}

    def quotes(self, inventory, time_to_close, volatility):
        sides = [rung.quotes(inventory[:, i], time_to_close, volatility[:, i]) for i, rung in enumerate(self.rungs)]
        return tuple(
            np.stack([np.broadcast_to(side[j], time_to_close.shape) for side in sides], axis=1) for j in (0, 1)
        )


def asset_by_asset(rung: type[OneAssetPolicy]) -> type[AssetByAsset]:
    """``rung`` as a policy of any market, asset by asset (``AssetByAsset``), under the rung's own name."""
    return type(
        f"{rung.__name__}ByAsset", (AssetByAsset,), {"rung": rung, "name": rung.name, "parameters": rung.parameters}
    )
