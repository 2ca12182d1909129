"""``MarketBatch``: ``n`` books of any market over the core, the one runner behind every adapter (``Batch`` is its
core-independent part).

It owns the seeding, the episode bookkeeping, the reward variant, close starts and the ``info`` assembly; the
vector adapters use it with autoreset, the single env as one unbatched market (``n=None``) without autoreset.
What the agent sees and does is the market's interface (``envs.interface``: a ``World``'s fields, or derived from a
``Market``'s physics), through the one observation table (``envs.observation``) and action layout (``envs.spaces``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np

from envs import core
from envs.close_starts import (
    CLOSE_INVENTORY,
    CLOSE_WINDOW,
    check_close_starts,
    close_start_probability,
    open_near_close,
)
from envs.interface import Interface, interface_of
from envs.observation import observer
from envs.spaces import action_mapper, action_names, action_space, observation_space

if TYPE_CHECKING:
    from envs.market import Market
    from envs.world import World

RewardVariant = Literal["pnl", "variance_reduced"]
REWARD_VARIANTS = ("pnl", "variance_reduced")
# The step's cash flows in ``info`` [price] and their sign in the env's reward (the ``pnl`` variant):
# reward = Σ sign·flow, exactly. Summed per episode by key, they reach the metrics without new plumbing.
CASH_FLOWS = {"spread_captured": 1.0, "inventory_pnl": 1.0, "fees": -1.0, "penalty": -1.0}
# The hedge leg's flows, in worlds with a hedge instrument: its position's revaluation and its trading cost.
HEDGE_FLOWS = {"hedge_pnl": 1.0, "hedge_cost": -1.0}


def cash_flows(world) -> dict[str, float]:
    """The market's cash flows and their signs in the reward: ``CASH_FLOWS``, plus ``HEDGE_FLOWS`` with hedges."""
    return {**CASH_FLOWS, **HEDGE_FLOWS} if interface_of(world).market.n_hedges else CASH_FLOWS


def market_keys(seed: int | None, n: int) -> np.ndarray:
    """Stream keys for ``n`` markets: market ``i`` gets the key a single env draws when seeded ``seed + i``.

    ``seed=None`` draws fresh keys from the operating system's entropy.
    """
    if seed is None:
        return np.random.default_rng().integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}")
    # One generator per market, at seeding only (never per step): this is how Gymnasium seeds a single env,
    # and single/vector parity needs exactly that key.
    return np.array([draw_key(np.random.default_rng(int(seed) + i)) for i in range(n)], dtype=np.uint64)


def draw_key(generator: np.random.Generator) -> np.uint64:
    """One market's stream key, drawn from a Gymnasium-style generator."""
    return generator.integers(0, 2**64, dtype=np.uint64, endpoint=False)


def info_reporter(world) -> Callable[[core.MarketState, core.StepOutcome, core.Action], dict[str, np.ndarray]]:
    """The per-step decomposition reported in ``info``, one array entry per book (the names looked up once): the
    cash flows [price] (``CASH_FLOWS``, with hedges ``HEDGE_FLOWS``), ``wealth`` [price]; per asset ``bid_fills``,
    ``ask_fills``, ``inventory`` [lots], ``bid_offset``, ``ask_offset`` [price], ``bid_quoted``, ``ask_quoted`` and
    ``mid`` [price]; per hedge ``hedge_trade``, ``hedge_position`` [lots] and ``hedge_mid`` [price]; suffixed by the
    asset's (hedge's) index in a market of several (``inventory_0``)."""
    market = interface_of(world).market
    d, m = market.n_assets, market.n_hedges

    def suffixed(name: str, count: int) -> list[tuple[str, int]]:
        return [(name, 0)] if count == 1 else [(f"{name}_{i}", i) for i in range(count)]

    # (name, source, index): the sources are the fills, the quotes' offsets and flags, the inventories and mids.
    per_asset = [
        (name, source, i) for source, name in enumerate(("bid_fills", "ask_fills")) for name, i in suffixed(name, d)
    ]
    for side, name in enumerate(("bid", "ask")):
        per_asset += [(column, 2, (side, i)) for column, i in suffixed(f"{name}_offset", d)]
        per_asset += [(column, 3, (side, i)) for column, i in suffixed(f"{name}_quoted", d)]
    per_asset += [(column, 4 + k, i) for k, name in enumerate(("inventory", "mid")) for column, i in suffixed(name, d)]
    per_hedge = [
        (column, k, j)
        for k, name in enumerate(("hedge_trade", "hedge_position", "hedge_mid"))
        for column, j in suffixed(name, m)
    ]

    def report(state: core.MarketState, outcome: core.StepOutcome, quotes: core.Action) -> dict[str, np.ndarray]:
        info = {
            "spread_captured": outcome.spread_captured,
            "inventory_pnl": outcome.inventory_pnl,
            "penalty": outcome.penalty,
            "fees": outcome.fees,
        }
        quoted = quotes.quoted if quotes.quoted is not None else np.ones(quotes.offset.shape, dtype=bool)
        sources = (outcome.bid_fills, outcome.ask_fills, quotes.offset, quoted, state.inventory, state.mid)
        for name, source, index in per_asset:
            info[name] = sources[source][index]
        info["wealth"] = state.wealth
        if outcome.hedge_trade is not None:
            info["hedge_pnl"], info["hedge_cost"] = outcome.hedge_pnl, outcome.hedge_cost
            sources = (outcome.hedge_trade, state.hedge_position, state.hedge_mid)
            for name, source, index in per_hedge:
                info[name] = sources[source][index]
        return info

    return report


def check_reward_variant(reward: str) -> str:
    if reward not in REWARD_VARIANTS:
        raise ValueError(f"reward must be one of {REWARD_VARIANTS}; got {reward!r}")
    return reward


@dataclasses.dataclass
class Finished:
    """The markets that reached the close in a step (``mask``), with their closing observation and the
    Monitor-style episode statistics: ``r`` return, ``l`` length, ``t`` seconds since the batch was
    built, ``objective`` the env's own reward summed (differs from ``r`` under ``variance_reduced``).
    Arrays span every market; only the entries under ``mask`` are meaningful."""

    mask: np.ndarray
    final_observation: np.ndarray
    episode: dict[str, np.ndarray]


@dataclasses.dataclass
class BatchStep:
    """What ``MarketBatch.step`` returns. ``observation`` is the next one (the new session's opening
    observation for markets that finished, when autoreset is on); ``info`` holds the per-market
    decomposition (``step_info``); ``finished`` is ``None`` unless some market reached the close."""

    observation: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    info: dict[str, np.ndarray]
    finished: Finished | None
    outcome: core.StepOutcome | None = None  # the core's outcome and quotes (its layout), for rollouts
    quotes: core.Action | None = None


class Batch:
    """``n`` sessions stepped together over a core (``MarketBatch``). With ``autoreset`` (the vector adapters), sessions reaching the
    close reset within the same step, or, with ``defer_resets`` (Gymnasium's next-step autoreset), at the next
    step, which ignores their action, pays 0, does not terminate and reports zeros in ``info``; without
    ``autoreset`` (the single env), stepping a closed session is an error.

    ``n=None`` runs one unbatched session (``MarketBatch`` only, without autoreset): per-market values are numpy
    scalars, observations ``(obs_dim,)`` and actions ``(legs,)``, the single env's layout, and the core runs on
    scalars rather than one-element arrays. ``shape`` is ``(n,)``, or ``()`` unbatched.

    Rewards follow ``reward``: ``"pnl"`` (the env's objective) or ``"variance_reduced"`` (the same
    objective in expectation: the outcome's ``variance_reduced_reward``). A subclass supplies the core:
    ``_open`` (a fresh state for keys and episode numbers, of the markets a mask picks, or of all),
    ``_observe``, ``_advance`` (one step from actions: the new state, the outcome and the step's ``info``) and
    ``n_steps``.
    """

    n_steps: int

    def __init__(self, n: int | None, reward: RewardVariant = "pnl", autoreset: bool = True) -> None:
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError(f"num_envs must be an integer ≥ 1; got {n!r}")
        if n is None and autoreset:
            raise ValueError("an unbatched session (n=None) runs without autoreset")
        self.n = 1 if n is None else int(n)
        self.shape = () if n is None else (self.n,)
        self.reward = check_reward_variant(reward)
        self.autoreset = autoreset
        # Next-step autoreset (Gymnasium's default): a session that closes returns its closing observation, and
        # opens at the next step, which ignores its action, pays nothing and does not terminate.
        self.defer_resets = False
        self._opening = None  # the markets that closed on the previous step, under next-step autoreset
        self._last_quotes = None  # the core quotes of the last step (``MarketBatch``)
        self.state = None
        self._start_time = time.perf_counter()
        self._opened_at = None  # the step each market's session opened at (reset sets it)
        self._returns = self._zeros()
        self._objective = self._zeros()

    def _first_step(self) -> np.integer:
        """The first market's step (the step every market is at, without close starts)."""
        return self.state.step[0] if self.shape else self.state.step

    def _zeros(self) -> np.ndarray:
        """Zeros over the markets (float64): an array of ``shape``, or a numpy scalar unbatched."""
        return np.zeros(self.shape)[()]

    def _open(self, keys: np.ndarray, episode: np.ndarray, markets: np.ndarray | None):
        raise NotImplementedError

    def _observe(self, state) -> np.ndarray:
        raise NotImplementedError

    def _advance(self, action: np.ndarray) -> tuple:
        raise NotImplementedError

    def reset(self, seed: int | None = None, keys: np.ndarray | None = None) -> np.ndarray:
        """Open a new session in every market; a seed restarts the streams (market i ↔ seed + i).

        ``keys`` (uint64, one per market: of ``shape``) sets the streams directly instead, e.g. repeated
        blocks so several policies share common random numbers within one batch, or the key a single env
        drew from its own generator. Without either, a new session on the same streams.
        """
        episode = np.zeros(self.shape, dtype=np.uint64)[()]
        if keys is not None:
            keys = np.asarray(keys, dtype=np.uint64)
            if keys.shape != self.shape:
                raise ValueError(f"keys must have shape {self.shape}; got {keys.shape}")
        elif seed is not None or self.state is None:
            keys = market_keys(seed, self.n).reshape(self.shape)
        else:  # a new session on the same streams
            keys, episode = self.state.key, self.state.episode + np.uint64(1)
        self.state = self._open(keys, episode, None)
        self._opening = None
        self._opened_at = self.state.step.copy()  # a session may open after step 0 (close_starts)
        self._returns = self._zeros()
        self._objective = self._zeros()
        return self._observe(self.state)

    def step(self, action: np.ndarray | core.Action) -> BatchStep:
        """Step every market with actions of shape ``(n, legs)`` (``(legs,)`` unbatched), or with quotes in price units
        in the core's layout (``core.Action``)."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if not self.autoreset and self._first_step() >= self.n_steps:
            raise RuntimeError("the session is closed; call reset()")
        self.state, outcome, info = self._advance(action if isinstance(action, core.Action) else np.asarray(action))
        reward = outcome.reward if self.reward == "pnl" else outcome.variance_reduced_reward
        done = outcome.terminated
        opening = self._opening
        if opening is not None:  # their closed sessions stepped for nothing: they open now instead
            reward = np.where(opening, 0.0, reward)
            done = done & ~opening
            info = {name: np.where(opening, np.zeros_like(value), value) for name, value in info.items()}
        self._returns += reward
        self._objective += outcome.reward
        observation = self._observe(self.state)
        finished = None
        # A numpy bool unbatched; on a small batch count_nonzero is far cheaper than done.any().
        if done if done.ndim == 0 else np.count_nonzero(done):
            finished = Finished(
                mask=done.copy(),
                final_observation=observation.copy(),
                episode={
                    "r": self._returns.copy(),
                    "l": self.state.step - self._opened_at,
                    "t": np.full(self.shape, round(time.perf_counter() - self._start_time, 6))[()],
                    "objective": self._objective.copy(),
                },
            )
            if self.autoreset and not self.defer_resets:
                self._restart(done)
                observation = self._observe(self.state)
        if opening is not None:
            self._restart(opening)
            observation = self._observe(self.state)
        self._opening = done.copy() if self.defer_resets and finished is not None else None
        return BatchStep(observation, reward, done.copy(), info, finished, outcome, self._last_quotes)

    def _restart(self, done: np.ndarray) -> None:
        fresh = self._open(self.state.key[done], self.state.episode[done] + np.uint64(1), done)
        for field in type(self.state).__dataclass_fields__:
            column = getattr(self.state, field)
            if column is None:  # the hedge leg's fields in a world without one
                continue
            column = column.copy()
            column[..., done] = getattr(fresh, field)
            setattr(self.state, field, column)
        self._opened_at[done] = fresh.step
        self._returns[done] = 0.0
        self._objective[done] = 0.0


# Uniforms a batch draws ahead at once [bytes]: a small batch draws whole blocks of steps (the single env its
# whole session) and turns them into the steps' noise at once, which spares it the hash's and the mid shock's
# per-step cost; a large one draws step by step, as the core would.
DRAW_AHEAD_BYTES = 256 * 1024


class MarketBatch(Batch):
    """``n`` books of one market over ``envs.core``: a single-asset ``World``, a ``Market`` of any number of assets
    or an ``Interface`` to one (``envs.interface.interface_of``); actions ``(n, legs)`` over its ``action_names``
    (``n=None``: one unbatched book, actions ``(legs,)``, see ``Batch``).

    ``close_starts`` (training only): the share of steps spent in sessions that open near the close, within
    the last ``close_window`` steps (``envs.close_starts.open_near_close``, each session with
    ``close_probability = close_start_probability(...)``); 0, the default, opens every session at step 0
    as the world says. ``close_inventory`` says at which inventory they open (``CLOSE_INVENTORIES``):
    ``"uniform"``, drawn uniformly within ±min(Q, ⌈3·inventory_unit⌉) lots; ``"visited"`` (the default), the
    one each market held ``close_window`` steps before the close of its last whole session, i.e. where the policy
    being trained takes its books into the close (the world's opening inventory until a session has passed that step, and
    again after a ``reset`` with a seed or keys). Each market opens near the close on its own draw, so every
    step's batch mixes both kinds of session; close starts need ``autoreset``.

    With informed flow the maker's filtered belief is tracked where observed (``flow_belief``) or asked for
    (``track_belief``: a dealing rule may read it).

    Without close starts its markets share the step (they open together and sessions have one length), so it
    draws the core's noise for blocks of steps ahead (``core.step_noise`` of ``core.step_uniforms``, up to
    ``DRAW_AHEAD_BYTES`` of uniforms): the same numbers the core would draw step by step, so results are
    bit-identical either way. With them the core draws each market's noise at its own step.
    """

    def __init__(
        self,
        world: World | Market | Interface,
        n: int | None,
        reward: RewardVariant = "pnl",
        autoreset: bool = True,
        close_starts: float = 0.0,
        close_window: int = CLOSE_WINDOW,
        close_inventory: str = CLOSE_INVENTORY,
        track_belief: bool = False,
    ) -> None:
        self.view = interface_of(world)
        super().__init__(n, reward, autoreset)
        check_close_starts(close_starts, close_window, close_inventory)
        if close_starts and not autoreset:
            raise ValueError("close_starts opens training sessions, each market on its own clock: it needs autoreset")
        self.close_starts, self.close_window = float(close_starts), close_window
        self.close_inventory = close_inventory
        self._visited: np.ndarray | None = None  # inventories held close_window steps before the last close
        self.world = world
        self.market = self.view.market
        self._visit_step = self.market.n_steps - min(close_window, self.market.n_steps)
        self.observation_space, self.action_space = observation_space(self.view), action_space(self.view)
        self.action_names = action_names(self.view)
        self._observe_state, self._quotes = observer(self.view), action_mapper(self.view)
        self._report = info_reporter(self.view)
        # Per asset, the ±lots a uniform close start opens within: min(Q, ⌈3·inventory_unit⌉).
        self._reach = tuple(
            min(asset.max_inventory, math.ceil(3 * unit))
            for asset, unit in zip(self.market.assets, self.view.inventory_unit, strict=True)
        )
        self._tracks_imbalance = "fill_imbalance" in self.view.features
        self._tracks_prints = "prints" in self.view.features
        self._tracks_signals = "flow_signals" in self.view.features
        self._tracks_belief = track_belief or "flow_belief" in self.view.features
        self.close_probability = close_start_probability(self.market, self.close_starts, close_window)
        self.n_steps = self.market.n_steps
        self._action_shape = self.shape + (len(self.action_names),)
        ahead = max(1, DRAW_AHEAD_BYTES // (8 * core.stream_count(self.market) * self.n))
        self._ahead = 1 if self.close_starts else ahead  # close starts: the markets' steps differ
        self._noise: core.StepNoise | None = None  # over (steps, n) from self._drawn_from
        self._drawn_from = 0

    def reset(self, seed: int | None = None, keys: np.ndarray | None = None) -> np.ndarray:
        if seed is not None or keys is not None:
            self._visited = None  # restarted streams start afresh
        return super().reset(seed, keys)

    def _open(self, keys: np.ndarray, episode: np.ndarray, markets: np.ndarray | None) -> core.MarketState:
        self._noise = None  # new sessions, new draws
        state = core.reset(
            self.market,
            keys,
            episode,
            self._tracks_imbalance,
            self._tracks_prints,
            self._tracks_signals,
            self._tracks_belief,
        )
        if self.close_starts:
            inventory = None
            if self.close_inventory == "visited":
                if self._visited is None:
                    self._visited = state.inventory.copy()
                inventory = self._visited if markets is None else self._visited[:, markets]
            state = open_near_close(
                self.market, state, self.close_probability, self.close_window, inventory, self._reach
            )
        return state

    def _step_noise(self) -> core.StepNoise | None:
        """The current step's noise from the block drawn ahead (``None``: let the core draw it)."""
        at = int(self._first_step())
        if self._ahead == 1 or at >= self.n_steps:  # a closed session stepping before it opens (next-step autoreset)
            return None
        if self._noise is None or not 0 <= at - self._drawn_from < self._noise.normals.shape[1]:
            steps = min(self._ahead, self.n_steps - at)
            uniforms = core.step_uniforms(self.market, self.state.key, self.state.episode, at, steps)
            self._noise = core.step_noise(self.market, uniforms)
            self._drawn_from = at
        return self._noise.at(at - self._drawn_from)

    def _observe(self, state: core.MarketState) -> np.ndarray:
        return self._observe_state(state)

    def _advance(self, action: np.ndarray | core.Action) -> tuple:
        if isinstance(action, core.Action):  # quotes in price units, the core's layout
            quotes = action
        elif action.shape != self._action_shape:
            raise ValueError(f"action must have shape {self._action_shape} {self.action_names}; got {action.shape}")
        else:
            quotes = self._quotes(action)
        self._last_quotes = quotes
        state, outcome = core.step(self.market, self.state, quotes, self._step_noise())
        if self._visited is not None:  # close starts at visited inventories
            passing = state.step == self._visit_step  # a session opened near the close starts past it
            self._visited[:, passing] = state.inventory[:, passing]
        return state, outcome, self._report(state, outcome, quotes)
