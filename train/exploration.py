"""A ceiling on a Gaussian policy's exploration noise on the quote legs, falling over training, per quote leg of any
market.

PPO maximizes the return averaged over its own exploration noise, and noise of std ``s`` [price] on a quote
moves the best quote of that average out by ``k·s²`` (``noise_widening``). The deterministic policy that
is evaluated then quotes too wide by ``(k·s)²`` in units of ``1/k``. With SB3's learned std left alone,
``(k·s)²`` ended at 3.8 to 23 % in four of the robustness suite's worlds, and the learned spreads were 2 to 25 %
wider than the optimum's (README; ``benchmarks/exploration_bias.py``). Capping each quote leg's noise at
``final_quote_std/κ`` [price] by the end of training bounds that bias at ``final_quote_std²``, κ its asset's
``Asset.effective_decay`` (k for the exponential curve; the k of the same curvature for another curve).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from envs import Market, World, action_ranges, interface_of, quote_leg_assets

# Share of training before the ceiling starts to fall: the first half explores as SB3's learned std will.
FALL_START = 0.5


def noise_widening(fill_decay: float | np.ndarray, quote_std: float | np.ndarray) -> float | np.ndarray:
    """How much further out [price] the best quote lies when it carries Gaussian noise of std ``quote_std`` [price]
    under fills at rate ``A·e^(−k·δ)``, ``k`` = ``fill_decay`` [1/price]: ``k·s²``. As
    ``E[(δ+ε)·e^(−k(δ+ε))] = e^(−kδ + k²s²/2)·(δ − k·s²)``, every side's best offset of the HJB
    (``max_δ e^(−kδ)·(δ − Δv)``) moves out by ``k·s²``; a Gaussian policy trained by PPO learns that optimum."""
    return fill_decay * np.square(quote_std)


def quote_legs(world) -> int:
    """How many of the action's legs are quotes (``envs.quote_leg_assets``)."""
    return len(quote_leg_assets(world))


def quote_noise(world, action_std: np.ndarray) -> np.ndarray:
    """The quote noise [price] of normalized action stds on the quote legs ``(quote_legs,)`` (``envs.action_ranges``:
    a leg's price per unit of action)."""
    return np.asarray(action_std) * action_ranges(world)[1][quote_leg_assets(world)]


def final_action_std(world: World | Market, final_quote_std: float) -> np.ndarray:
    """The normalized action std of each quote leg ``(quote_legs,)`` whose quote noise is ``final_quote_std/κ``
    [price], κ the leg's asset's effective decay."""
    decay = np.array([asset.effective_decay for asset in interface_of(world).market.assets])
    return final_quote_std / (decay[quote_leg_assets(world)] * quote_noise(world, 1.0))


def ceiling(initial: float, final: float, progress: float) -> float:
    """The std ceiling at ``progress`` ∈ [0, 1] of training: ``initial`` until ``FALL_START``, then
    log-linear to ``final`` at the end (never above ``initial``)."""
    final = min(final, initial)
    fall = min(max((progress - FALL_START) / (1.0 - FALL_START), 0.0), 1.0)
    return math.exp((1.0 - fall) * math.log(initial) + fall * math.log(final))


class QuoteStdCeiling(BaseCallback):
    """Before each rollout, lowers the policy's state-independent ``log_std`` on each quote leg to
    ``log(ceiling(initial, final_leg, num_timesteps/total_timesteps))`` (``final`` one std per quote leg,
    ``final_action_std``); the std stays learned below it. For policies with a ``log_std`` parameter (PPO, A2C
    without gSDE)."""

    def __init__(self, initial: float, final: np.ndarray, total_timesteps: int) -> None:
        super().__init__()
        self.initial, self.final, self.total_timesteps = initial, np.atleast_1d(final), total_timesteps

    def _on_rollout_start(self) -> None:
        progress = self.model.num_timesteps / self.total_timesteps
        log_std = self.model.policy.log_std
        caps = [math.log(ceiling(self.initial, float(final), progress)) for final in self.final]
        with torch.no_grad():
            log_std[: len(caps)].clamp_(max=torch.tensor(caps, dtype=log_std.dtype))

    def _on_step(self) -> bool:
        return True
