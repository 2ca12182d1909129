"""A market calibrated from a recorded tape (``eval.tape``): the mid's volatility, each side's fill intensity by
depth and the request sizes, each estimate with a 95 % interval and the diagnostics that say how far to trust it.

- **Volatility.** The mid sampled every ``sampling`` seconds (the last quote before each grid time), its changes
  ``rᵢ``, and the realized variance ``σ̂² = Σ rᵢ² / (n·Δ)`` [price²/s]; for Gaussian increments ``n·σ̂²/σ²`` is
  χ²(n), which gives the interval. Microstructure noise (bid–ask bounce) adds ``2·E[ε²]`` to each ``rᵢ²``, so σ̂
  grows as Δ shrinks: ``volatility_signature`` gives σ̂ at several Δ, to choose one where it is flat.
- **Fill intensity.** A market order reaches depth ``D`` [price] from the mid just before it (a sell: the mid less
  its lowest price; a buy: its highest price less the mid), trades of one order (one time stamp, one side) counted
  as one order reaching its deepest level. The model's requests reach a quote at δ with intensity ``A·e^(−k·δ)``,
  so beyond the touch ``D − h`` is exponential at rate k (h the median quoted half-spread, the depth every order
  reaches; an order measured short of it, against a mid the quotes had not yet updated, is counted at the touch, and
  its share is reported as ``stale``): ``k̂ = 1/mean(D − h)`` with its χ²(2N) interval, and ``Â = N/T·e^(k̂·h)``
  per side with a log-normal interval from the count and k̂ (N the orders, T the span). Prints on one side within
  ``SWEEP_WINDOW`` of each other are one order. The diagnostics give k̂'s relative change with the mid after each
  trade and with every print an order (the naive choices). The logistic curve ``f(δ) = 1/(1 + e^(α + β·δ))`` is
  fitted to the same depths by maximum likelihood (density ``β·f·(1 − f)/f(h)`` beyond the touch), and the curve of
  the lower AIC (``2·parameters − 2·ln L``, one parameter against two) is the market's.
- **Volatility regimes** (optional). The sampled returns as a two-state Gaussian hidden Markov model (Hamilton 1989,
  "A new approach to the economic analysis of nonstationary time series", Econometrica 57(2)): in state j a return
  is ``N(0, σⱼ²·Δ)``, the state a Markov chain, fitted by maximum likelihood (the forward recursion, Rabiner 1989)
  with intervals from the inverse Hessian. A recorded mid moves on a grid (half a tick), so a return is read as the
  interval of the grid's width around it (its probability, not a density: many zero returns would otherwise let one
  state's σ collapse to zero). A step's switch chances ``a`` (calm → stressed) and ``b`` are a
  continuous chain's, ``a + b = 1 − e^(−λΔ)``, so the leaving rates are ``q₀ = a·λ/(a + b)`` and
  ``q₁ = b·λ/(a + b)``. The market holds the two regimes where the AIC prefers them to one σ and each lasts two
  samples or more on average (a state left within a sample is the stale mid's zero returns, not a regime).
- **Sizes.** Each order's size over ``lot`` [the venue's quantity per lot], rounded to whole lots (at least 1),
  summarized as a ladder of at most ``SIZE_LEVELS`` sizes and their shares.

Rates and σ are converted to the market's time unit (``time_unit`` seconds); the market's ``horizon`` is the
user's choice. Sources of the formulas: realized variance and its noise, Aït-Sahalia & Jacod (2014), "High-Frequency
Financial Econometrics", ch. 6–7; the exponential intensity, Avellaneda & Stoikov (2008), eq. 2.12.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.optimize
import scipy.special
from scipy import stats

from envs.market import Asset, Market, Penalty, Regimes
from eval.tape import Tape

SIZE_LEVELS = 3
# |α| beyond which the logistic curve is exponential over any depth the data reach: the fit stops there.
LOGISTIC_SHIFT_BOUND = 30.0
# Consecutive prints on one side at most this far apart [s] are one order sweeping several levels: a venue sends
# each fill of one taker order as its own message, received within about a millisecond.
SWEEP_WINDOW = 0.002
Z_95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A value with its 95 % interval and the number of observations behind it."""

    value: float
    low: float
    high: float
    count: int


@dataclasses.dataclass(frozen=True)
class Orders:
    """Market orders [one per order]: depth from the mid [price], size [the venue's quantity], side (+1 buy), the
    quoted half-spread before it [price], its time [s] and its deepest price [price]."""

    depth: np.ndarray
    size: np.ndarray
    side: np.ndarray
    half_spread: np.ndarray
    time: np.ndarray
    price: np.ndarray


def mid_returns(tape: Tape, sampling: float) -> np.ndarray:
    """The mid's changes [price] over successive ``sampling``-second intervals (the last quote at each grid time)."""
    grid = np.arange(tape.quote_time[0], tape.quote_time[-1], sampling)
    if grid.size < 3:
        raise ValueError(f"sampling {sampling} s leaves fewer than 2 returns in a tape of {tape.duration:.0f} s")
    return np.diff(tape.mid_at(grid))


def volatility(tape: Tape, sampling: float) -> Estimate:
    """σ̂ [price/√s] from the mid sampled every ``sampling`` seconds, with its χ² interval (module docstring)."""
    returns = mid_returns(tape, sampling)
    n = returns.size
    variance = float(np.sum(returns**2) / (n * sampling))
    low = n * variance / stats.chi2.ppf(0.975, n)
    high = n * variance / stats.chi2.ppf(0.025, n)
    return Estimate(math.sqrt(variance), math.sqrt(low), math.sqrt(high), n)


@dataclasses.dataclass(frozen=True)
class RegimeFit:
    """Two volatility regimes of the mid (module docstring): each state's σ [price/√s], calm first, and its leaving
    rate [1/s], with 95 % intervals; the log-likelihood of one state and of two; whether the market holds them, and
    why not where it does not."""

    sigma: tuple[Estimate, Estimate]
    leave_rate: tuple[Estimate, Estimate]
    log_likelihood: dict[str, float]
    chosen: bool
    why_not: str = ""


def _return_probability(returns: np.ndarray, resolution: float, deviation: np.ndarray) -> np.ndarray:
    """``P(r ± resolution/2)`` of each return under ``N(0, deviation²)`` [price], per return and deviation: the
    normal's mass over the grid interval, or its density times the width where the width is negligible."""
    scaled = returns[:, None] / deviation
    width = resolution / deviation
    with np.errstate(divide="ignore"):
        mass = scipy.special.ndtr(scaled + width / 2) - scipy.special.ndtr(scaled - width / 2)
    return np.where(width < 1e-3, np.exp(-0.5 * scaled**2) / math.sqrt(2.0 * math.pi) * width, mass)


def _regime_log_likelihood(returns: np.ndarray, resolution: float, sampling: float, params: np.ndarray) -> float:
    """The two-state model's log-likelihood of ``returns`` (on a grid of ``resolution``) at ``params`` = (ln σ₀², ln σ₁²,
    logit a, logit b), the variances per second, the chain opening in its stationary law."""
    a, b = scipy.special.expit(params[2:])
    transition = np.array([[1.0 - a, a], [b, 1.0 - b]])
    density = _return_probability(returns, resolution, np.sqrt(np.exp(params[:2]) * sampling))
    belief, total = np.array([b, a]) / (a + b), 0.0
    for row in density:
        joint = belief * row
        scale = joint.sum()
        if not scale > 0:
            return -np.inf
        total += math.log(scale)
        belief = (joint / scale) @ transition
    return total


def volatility_regimes(tape: Tape, sampling: float) -> RegimeFit:
    """The two-regime fit of the mid's returns sampled every ``sampling`` seconds (module docstring)."""
    returns = mid_returns(tape, sampling)
    # The grid the recorded mid moves on (mids rounded to 8 decimals: a price's float noise is no step).
    steps = np.diff(np.unique(np.round(tape.mid, 8)))
    resolution = float(steps.min()) if steps.size else 0.0
    if returns.size < 20:
        raise ValueError(f"two volatility regimes need at least 20 returns; sampling {sampling} s gives {returns.size}")
    squares = np.sort(returns**2)
    half = squares.size // 2
    start = np.array(
        [math.log(max(squares[:half].mean(), 1e-30) / sampling), math.log(max(squares[half:].mean(), 1e-30) / sampling)]
        + [scipy.special.logit(0.05)] * 2
    )

    def negative(params: np.ndarray) -> float:
        value = _regime_log_likelihood(returns, resolution, sampling, params)
        return -value if np.isfinite(value) else 1e300

    best = scipy.optimize.minimize(negative, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6})
    params = best.x if best.x[0] <= best.x[1] else best.x[[1, 0, 3, 2]]  # calm first
    covariance = _inverse_hessian(negative, params)
    errors = _standard_errors(np.diagonal(covariance))
    sigma = tuple(_log_normal(math.exp(0.5 * params[j]), 0.5 * errors[j], returns.size) for j in (0, 1))
    leave = _leave_rates(params, sampling)
    step = 1e-5
    gradient = np.array(  # of (ln q₀, ln q₁) by the switch chances' logits, by central differences: (2 params, 2 rates)
        [
            (np.log(_leave_rates(params + shift, sampling)) - np.log(_leave_rates(params - shift, sampling)))
            / (2 * step)
            for shift in np.eye(4)[2:] * step
        ]
    )
    with np.errstate(invalid="ignore"):
        log_errors = _standard_errors(np.einsum("pr,pq,qr->r", gradient, covariance[2:, 2:], gradient))
    rates = tuple(_log_normal(float(leave[j]), log_errors[j], returns.size) for j in (0, 1))
    one = -scipy.optimize.minimize_scalar(
        lambda log_variance: (
            -float(
                np.sum(
                    np.log(np.maximum(_return_probability(returns, resolution, np.exp([0.5 * log_variance])), 1e-300))
                )
            )
        ),
        bounds=(math.log(max(squares.mean(), 1e-30)) - 10.0, math.log(max(squares.mean(), 1e-30)) + 5.0),
        method="bounded",
    ).fun
    two = -float(best.fun)
    why_not = ""
    if 2 * 4 - 2 * two >= 2 * 1 - 2 * one:
        why_not = f"two regimes do not beat one σ by the AIC (log-likelihood {two:.6g} against {one:.6g})"
    elif max(leave) * sampling > 0.5:
        why_not = (
            f"a fitted state lasts under two samples of {sampling:g} s on average: the stale mid's zero returns, not a "
            "volatility regime (sample less often)"
        )
    likelihood = {"one": float(one), "two": two}
    return RegimeFit(sigma, rates, likelihood, not why_not, why_not)


def _standard_errors(variances: np.ndarray) -> np.ndarray:
    """√ of the covariance's diagonal, ``inf`` where it is not a finite number ≥ 0 (a flat or singular likelihood)."""
    variances = np.asarray(variances, dtype=np.float64)
    return np.where(np.isfinite(variances) & (variances >= 0), np.sqrt(np.abs(variances)), np.inf)


def _log_normal(value: float, log_error: float, count: int) -> Estimate:
    """``value`` with the 95 % interval ``value·e^(±1.96·log_error)`` (``[0, inf]`` for an infinite error)."""
    if not math.isfinite(log_error):
        return Estimate(value, 0.0, math.inf, count)
    spread = min(Z_95 * log_error, 700.0)
    return Estimate(value, value * math.exp(-spread), value * math.exp(spread), count)


def _leave_rates(params: np.ndarray, sampling: float) -> np.ndarray:
    """``(q₀, q₁)`` [1/s] of the continuous chain whose step of ``sampling`` seconds switches with ``(a, b)``."""
    a, b = scipy.special.expit(params[2:])
    both = min(a + b, 1.0 - 1e-12)
    total = -math.log(1.0 - both) / sampling
    return np.array([a, b]) * total / both


def volatility_signature(
    tape: Tape, samplings: tuple[float, ...] = (0.1, 1.0, 5.0, 15.0, 30.0)
) -> dict[float, Estimate]:
    """σ̂ at each sampling interval [s] the tape allows: where it flattens, the noise no longer dominates."""
    return {sampling: volatility(tape, sampling) for sampling in samplings if tape.duration / sampling >= 3}


def market_orders(tape: Tape, merge_sweeps: bool = True, mid_before: bool = True) -> Orders:
    """Each market order's depth, size and side (module docstring); ``merge_sweeps=False`` counts every print as an
    order, ``mid_before=False`` measures from the first mid at or after the trade (both the naive choices)."""
    time, side = tape.trade_time, tape.trade_side
    if merge_sweeps:
        starts = np.flatnonzero(np.r_[True, (np.diff(time) > SWEEP_WINDOW) | (np.diff(side) != 0)])
    else:
        starts = np.arange(time.size)
    deepest = np.where(
        side[starts] > 0, np.maximum.reduceat(tape.trade_price, starts), np.minimum.reduceat(tape.trade_price, starts)
    )
    if mid_before:
        mid = tape.mid_before(time[starts])
    else:
        index = np.minimum(np.searchsorted(tape.quote_time, time[starts], side="left"), tape.quote_time.size - 1)
        mid = tape.mid[index]
    before = np.searchsorted(tape.quote_time, time[starts], side="left") - 1
    half_spread = 0.5 * (tape.ask - tape.bid)[np.maximum(before, 0)]
    known = np.isfinite(mid)
    depth = side[starts] * (deepest - mid)
    size = np.add.reduceat(tape.trade_size, starts)
    return Orders(
        depth[known], size[known], side[starts][known], half_spread[known], time[starts][known], deepest[known]
    )


def exponential_intensity(depth: np.ndarray, span: float, floor: float) -> tuple[Estimate, Estimate]:
    """``(A, k)`` of ``A·e^(−k·δ)`` [1/s, 1/price] from one side's order depths over ``span`` seconds, every order
    reaching at least the touch ``floor`` [price], with their intervals (module docstring)."""
    if depth.size < 2:
        raise ValueError(f"{depth.size} market order(s) on a side: too few to fit an intensity")
    excess = float(np.mean(np.maximum(depth, floor) - floor))
    n = depth.size
    if excess <= 0:
        raise ValueError("every market order reached the same depth: the decay k is not identified")
    k = 1.0 / excess
    k_low = stats.chi2.ppf(0.025, 2 * n) / (2 * n * excess)
    k_high = stats.chi2.ppf(0.975, 2 * n) / (2 * n * excess)
    a = n / span * math.exp(k * floor)
    spread = math.sqrt(1.0 / n + (floor * k) ** 2 / n)  # sd of ln Â: the count's and k̂'s (var k̂ ≈ k²/N)
    return (
        Estimate(a, a * math.exp(-Z_95 * spread), a * math.exp(Z_95 * spread), n),
        Estimate(k, float(k_low), float(k_high), n),
    )


def exponential_log_likelihood(depth: np.ndarray, floor: float, decay: float) -> float:
    """``Σ ln g(Dᵢ)`` of the depths beyond the touch under the exponential curve, ``g(δ) = k·e^(−k(δ − h))``."""
    excess = np.maximum(depth, floor) - floor
    return float(depth.size * math.log(decay) - decay * excess.sum())


def logistic_intensity(depth: np.ndarray, span: float, floor: float) -> tuple[Estimate, Estimate, Estimate, float]:
    """``(A, α, β, ln L)`` of ``A·f(δ)``, ``f(δ) = 1/(1 + e^(α + β·δ))`` (the market's logistic curve), from one side's
    (or both sides') order depths beyond the touch ``floor`` over ``span`` seconds: the depths' density there is
    ``g(δ) = −f'(δ)/f(h) = β·f(δ)·(1 − f(δ))/f(h)``, maximized over (α, β) (α within ±``LOGISTIC_SHIFT_BOUND``,
    where the curve is already exponential); intervals from the inverse Hessian of −ln L, ``Â = N/(T·f(h))``."""
    depth = np.maximum(depth, floor)
    n = depth.size

    def negative(params: np.ndarray) -> float:
        shift, log_slope = params
        slope = math.exp(log_slope)
        x = shift + slope * depth
        log_f = -np.logaddexp(0.0, x)
        return -float(n * log_slope + np.sum(2.0 * log_f + x) + n * np.logaddexp(0.0, shift + slope * floor))

    start_slope = 1.0 / max(float(np.mean(depth - floor)), 1e-12)
    best = scipy.optimize.minimize(
        negative,
        np.array([-floor * start_slope, math.log(start_slope)]),
        method="L-BFGS-B",
        bounds=[(-LOGISTIC_SHIFT_BOUND, LOGISTIC_SHIFT_BOUND), (None, None)],
    )
    shift, log_slope = best.x
    covariance = _inverse_hessian(negative, best.x)
    shift_sd, log_slope_sd = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    slope = math.exp(log_slope)
    at_touch = 1.0 / (1.0 + math.exp(shift + slope * floor))
    a = n / span / at_touch
    return (
        Estimate(a, a * math.exp(-Z_95 / math.sqrt(n)), a * math.exp(Z_95 / math.sqrt(n)), n),
        Estimate(float(shift), float(shift - Z_95 * shift_sd), float(shift + Z_95 * shift_sd), n),
        Estimate(slope, slope * math.exp(-Z_95 * log_slope_sd), slope * math.exp(Z_95 * log_slope_sd), n),
        -float(best.fun),
    )


def _inverse_hessian(function, point: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """The inverse of ``function``'s Hessian at ``point`` by central differences (the MLE's covariance)."""
    k = point.size
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            shifts = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                moved = point.astype(np.float64).copy()
                moved[i] += si * step
                moved[j] += sj * step
                shifts.append(si * sj * function(moved))
            hessian[i, j] = sum(shifts) / (4 * step * step)
    try:
        return np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.inf)


def size_ladder(size: np.ndarray, lot: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Order sizes in whole lots (at least 1) as a ladder of at most ``SIZE_LEVELS`` sizes (the 50th, 80th and 95th
    percentiles) and the share of orders nearest each."""
    lots = np.maximum(np.rint(size / lot), 1).astype(np.int64)
    ladder = np.unique(np.percentile(lots, (50, 80, 95)[:SIZE_LEVELS], method="nearest").astype(np.int64))
    nearest = np.abs(lots[:, None] - ladder[None, :]).argmin(axis=1)
    shares = np.bincount(nearest, minlength=ladder.size) / lots.size
    return tuple(int(v) for v in ladder), tuple(float(v) for v in shares)


@dataclasses.dataclass(frozen=True)
class Calibration:
    """A calibrated one-asset market, the estimates behind it [per second, price, the venue's quantity] and the
    diagnostics: k̂ per side with the naive choices, and σ̂ at several samplings. ``curve`` is the fill curve chosen
    by ``criterion`` (each curve's AIC over the pooled depths, ``2·parameters − 2·ln L``; the lower wins), ``logistic``
    the logistic fit's (α, β)."""

    market: Market
    sigma: Estimate
    intensity: dict[str, Estimate]
    decay: dict[str, Estimate]
    logistic: dict[str, Estimate]
    curve: str
    criterion: dict[str, float]
    touch: float
    stale: float
    diagnostics: dict[str, dict[str, float]]
    signature: dict[float, Estimate]
    time_unit: float
    lot: float
    regimes: RegimeFit | None = None

    def fitted_rate(self, side: str, depth: np.ndarray) -> np.ndarray:
        """The market's rate [per second] at which requests reach ``depth`` [price] on ``side`` (``bid``/``ask``)."""
        asset = self.market.assets[0]
        share = asset.sell_share if side == "bid" else 1.0 - asset.sell_share
        return 2.0 * share * asset.arrival_intensity / self.time_unit * asset.fill_shape(depth)


def calibrate(
    tape: Tape,
    time_unit: float = 60.0,
    horizon: float = 5.0,
    dt: float = 0.01,
    sampling: float = 5.0,
    lot: float | None = None,
    fee: float = 0.0,
    max_inventory: int | None = None,
    risk_aversion: float = 0.0,
    single_size: bool = False,
    regimes: bool = False,
) -> Calibration:
    """The one-asset market of ``tape``: σ and the intensities in the time unit of ``time_unit`` seconds, a session
    of ``horizon`` units in steps of ``dt``, sizes in lots of ``lot`` (default: the median order size), ``fee`` per
    lot, the limit ``max_inventory`` (default: 10 times the largest ladder size) and the running penalty of a
    mean-variance maker of CARA ``risk_aversion`` γ [1/price], ``(γ/2)·σ²·q²`` (data say nothing of it: the
    user's choice; 0 is risk-neutral). ``single_size``: every request one lot of the mean order size (no ladder), a
    market the single-asset exact optimum can tabulate where its curve is exponential. ``regimes``: fit two volatility
    regimes (``volatility_regimes``); the market holds them, with the mean-variance penalty scaled by each regime's
    σ², where the AIC prefers them."""
    orders = market_orders(tape)
    touch = float(np.median(orders.half_spread))  # the depth every order reaches
    sides = {"bid": orders.side < 0, "ask": orders.side > 0}  # sells reach the bid, buys the ask
    fits = {name: exponential_intensity(orders.depth[rows], tape.duration, touch) for name, rows in sides.items()}
    pooled_a, pooled_k = exponential_intensity(orders.depth, tape.duration, touch)
    naive = {
        "mid after each trade": market_orders(tape, mid_before=False),
        "every print an order": market_orders(tape, merge_sweeps=False),
    }
    diagnostics = {
        choice: {
            name: exponential_intensity(other.depth[(other.side > 0) == (name == "ask")], tape.duration, touch)[1].value
            / fits[name][1].value
            - 1
            for name in sides
        }
        for choice, other in naive.items()
    }
    shift_fit = logistic_intensity(orders.depth, tape.duration, touch)
    criterion = {
        "exponential": 2.0 - 2.0 * exponential_log_likelihood(orders.depth, touch, pooled_k.value),
        "logistic": 4.0 - 2.0 * shift_fit[3],
    }
    curve = min(criterion, key=criterion.get)
    sigma = volatility(tape, sampling)
    if single_size:
        lot, sizes, shares = float(np.mean(orders.size)) if lot is None else lot, (1,), (1.0,)
    else:
        lot = float(np.median(orders.size)) if lot is None else lot
        sizes, shares = size_ladder(orders.size, lot)
    if curve == "exponential":
        rates = {name: fit[0].value for name, fit in fits.items()}
    else:  # each side's requests: its orders at the touch over f(h)
        at_touch = 1.0 / (1.0 + math.exp(shift_fit[1].value + shift_fit[2].value * touch))
        rates = {name: np.count_nonzero(rows) / tape.duration / at_touch for name, rows in sides.items()}
    asset = Asset(
        s0=float(tape.mid[-1]),
        sigma=sigma.value * math.sqrt(time_unit),
        arrival_intensity=0.5 * (rates["bid"] + rates["ask"]) * time_unit,
        sell_share=rates["bid"] / (rates["bid"] + rates["ask"]),
        fill_curve=curve,
        fill_decay=pooled_k.value,
        **({"fill_shift": shift_fit[1].value, "fill_slope": shift_fit[2].value} if curve == "logistic" else {}),
        sizes=sizes,
        size_probabilities=shares,
        max_inventory=max_inventory if max_inventory is not None else 10 * max(sizes) * math.lcm(*sizes) // max(sizes),
        fee=fee,
    )
    market = Market(
        assets=(asset,), penalty=Penalty(running=0.5 * risk_aversion * asset.sigma**2), horizon=horizon, dt=dt
    )
    fit = volatility_regimes(tape, sampling) if regimes else None
    if fit is not None and fit.chosen:  # σ per regime as multiples of σ̂, the rates in the market's time unit
        q0, q1 = (rate.value * time_unit for rate in fit.leave_rate)
        market = market.replace(
            regimes=Regimes(
                scales=tuple(estimate.value / sigma.value for estimate in fit.sigma),
                switch_rates=((-q0, q0), (q1, -q1)),
            ),
            penalty={"volatility_scaled": True},
        )
    return Calibration(
        market,
        sigma,
        {name: fit[0] for name, fit in fits.items()} | {"pooled": pooled_a},
        {name: fit[1] for name, fit in fits.items()} | {"pooled": pooled_k},
        {"shift": shift_fit[1], "slope": shift_fit[2]},
        curve,
        criterion,
        touch,
        float(np.mean(orders.depth < touch)),
        diagnostics,
        volatility_signature(tape),
        time_unit,
        lot,
        fit,
    )


def simulated_tape(
    asset: Asset,
    seconds: float,
    time_unit: float,
    half_spread: float,
    lot: float,
    seed: int,
    quote_every: float = 0.1,
    regimes: Regimes | None = None,
) -> Tape:
    """A tape drawn from the market model that ``calibrate`` inverts, for checking that it recovers known
    parameters: quotes every ``quote_every`` seconds at ``mid ± half_spread`` [price] around a Gaussian mid of
    volatility ``asset.sigma`` per √(``time_unit`` seconds); on each side, requests at ``A·f(h)`` per second that
    reach the touch (the bid's share ``2·sell_share``; f the asset's fill curve), each reaching a depth D ≥ h with
    ``P(D ≥ δ) = f(δ)/f(h)``, for a ladder size times ``lot``, printed as two fills 1 ms apart (a sweep) at the touch
    and at its deepest price. With ``regimes`` (rates per time unit) σ is scaled by a regime chain stepped at each
    quote."""
    rng = np.random.default_rng(seed)
    quote_time = np.arange(0.0, seconds, quote_every)
    sigma = np.full(quote_time.size - 1, asset.sigma / math.sqrt(time_unit))
    if regimes is not None:
        chain = Market(regimes=regimes, horizon=quote_every / time_unit, dt=quote_every / time_unit)
        cumulative = np.cumsum(chain.regime_step_transition, axis=1)
        state = int(np.searchsorted(np.cumsum(chain.stationary_regime_distribution), rng.uniform(), side="right"))
        for index, u in enumerate(rng.uniform(size=sigma.size)):
            sigma[index] *= regimes.scales[state]
            state = min(int(np.searchsorted(cumulative[state], u, side="right")), regimes.count - 1)
    mid = asset.s0 + np.concatenate(
        [[0.0], np.cumsum(sigma * math.sqrt(quote_every) * rng.standard_normal(sigma.size))]
    )
    rows = []
    for side, share in ((-1, asset.sell_share), (1, 1.0 - asset.sell_share)):
        at_touch = float(asset.fill_shape(half_spread))
        rate = 2.0 * share * asset.arrival_intensity / time_unit * at_touch
        times = np.sort(
            rng.uniform(quote_time[1], seconds - 0.01, rng.poisson(rate * (seconds - 0.01 - quote_time[1])))
        )
        survival = at_touch * rng.uniform(size=times.size)  # f(D) = u·f(h): the depth's survival beyond the touch
        if asset.fill_curve == "exponential":
            depth = -np.log(survival) / asset.fill_decay
        else:
            depth = (np.log(1.0 / survival - 1.0) - asset.fill_shift) / asset.fill_slope
        size = rng.choice(asset.sizes, times.size, p=asset.size_probabilities) * lot
        before = mid[np.searchsorted(quote_time, times, side="left") - 1]
        for offset, price, part in ((0.0, before + side * half_spread, 0.5), (0.001, before + side * depth, 0.5)):
            rows += list(zip(times + offset, price, size * part, np.full(times.size, side), strict=True))
    trades = np.array(sorted(rows))
    return Tape(
        trades[:, 0],
        trades[:, 1],
        trades[:, 2],
        trades[:, 3].astype(np.int64),
        quote_time,
        mid - half_spread,
        mid + half_spread,
        start=0.0,
        sources=(("simulated", f"seed {seed}"),),
    )


if __name__ == "__main__":
    import sys

    from eval.calibration_report import main

    sys.exit(main())
