"""The one interface every classic policy answers: SB3's ``predict`` on the env's own observations, and
``quotes`` in price units for plots and tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from envs import World, decode_observation, quotes_to_action


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A policy parameter: its type (``float``, ``int`` or ``str``), default (a value, or a function of the
    world), what the default is in words, and its meaning with units."""

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
    """Base class: subclasses set ``name``, ``parameters`` and implement ``quotes``.

    ``quotes(inventory, time_to_close, volatility)`` takes arrays of inventory [lots], time to
    close T − t [time] and current σ [price/√time] and returns ``(bid_offset, ask_offset)`` [price],
    ``+inf`` for a pulled side. ``act(decoded)`` maps the decoded observation (``envs.decode_observation``)
    to ``(bid_offset, ask_offset, hedge_trade)``; by default the quotes and no hedge trade, so every
    quoting policy is its own ``no_hedge`` in a world with a hedge instrument. ``predict`` decodes
    observations, calls ``act`` and returns the normalized actions a learned policy would, so
    evaluation treats both alike.
    """

    name: ClassVar[str]
    parameters: ClassVar[dict[str, Parameter]] = {}

    def __init__(self, world: World, **params: Any) -> None:
        if not isinstance(world, World):
            raise ValueError(f"world must be an envs.World (see envs.make_world); got {type(world).__name__}")
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for policy {self.name!r}; "
                f"accepted: {sorted(self.parameters) or 'none'}"
            )
        self.world = world
        self.params = {}
        for key, parameter in self.parameters.items():
            value = params.get(key, parameter.resolve(world))
            self.params[key] = _coerce(self.name, key, parameter.kind, value)
            if parameter.bound is not None and not parameter.bound[0](self.params[key]):
                raise ValueError(
                    f"parameter {key!r} of policy {self.name!r} must be {parameter.bound[1]}; got {value!r}"
                )

    def quotes(
        self, inventory: np.ndarray, time_to_close: np.ndarray, volatility: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def act(self, decoded: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Quotes [price] and hedge trade [lots, or ``None`` for none] at decoded states."""
        bid, ask = self.quotes(decoded["inventory"], decoded["time_to_close"], decoded["volatility"])
        return bid, ask, None

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        """SB3's protocol: a batch of observations (or one) to normalized actions ``(n, legs)``."""
        observation = np.asarray(observation)
        single = observation.ndim == 1
        decoded = decode_observation(self.world, observation[None, :] if single else observation)
        # The world's one asset and hedge: its columns of the per-asset and per-hedge entries.
        bid, ask, trade = self.act({name: value[:, 0] if value.ndim == 2 else value for name, value in decoded.items()})
        rows = (len(decoded["time_to_close"]), 1)
        trade = None if trade is None else np.reshape(trade, rows)
        actions = quotes_to_action(
            self.world,
            np.broadcast_to(bid, rows[:1]).reshape(rows),
            np.reshape(np.broadcast_to(ask, rows[:1]), rows),
            trade,
        )
        return (actions[0] if single else actions), None

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({params})"


class HedgingPolicy(Policy):
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

    def act(self, decoded):
        if not self.world.hedged:
            return super().act(decoded)
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


def pull_at_limit(
    inventory: np.ndarray, bid: np.ndarray, ask: np.ndarray, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hard position limit: at ``q ≥ limit`` quote no bid, at ``q ≤ −limit`` no ask (``+inf`` = pulled)."""
    return np.where(inventory >= limit, np.inf, bid), np.where(inventory <= -limit, np.inf, ask)
