"""``python -m eval.calibrate DATA --out market.yaml``: a market calibrated from a recorded tape, written as an
ordinary market file with its provenance and estimates, and a report with the diagnostics a practitioner looks at.

Exit codes: 0 done; 2 bad input (a data file or folder, a flag), named before anything is written.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from eval import plots
from eval.calibrate import SWEEP_WINDOW, Calibration, Estimate, calibrate, market_orders, mid_returns
from eval.files import atomic_write_bytes, atomic_write_text, staged
from eval.tape import Tape, read_tape

BAD_INPUT = 2
# A fit is flagged where its data are this short [s] or its orders this few on a side.
SHORT_TAPE = 600.0
FEW_ORDERS = 200


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("data", type=Path, help="a Binance capture (.gz) or a folder with trades and quotes (eval.tape)")
    p.add_argument("--out", type=Path, required=True, help="the market file to write (YAML); its report beside it")
    session_arguments(p, horizon=5.0)
    p.add_argument("--sampling", type=float, default=5.0, help="the mid's sampling for σ, in seconds (default 5)")
    p.add_argument("--lot", type=float, help="venue quantity per lot (default: the median order size)")
    p.add_argument("--fee", type=float, default=0.0, help="fee per lot filled, in price units (default 0)")
    p.add_argument(
        "--single-size",
        action="store_true",
        help="every request one lot of the mean order size (default: a ladder of up to three sizes); with an "
        "exponential curve the market's exact optimum can then be tabulated",
    )
    p.add_argument(
        "--regimes",
        action="store_true",
        help="fit two volatility regimes to the sampled mid (a Gaussian hidden Markov model); the market holds them "
        "where the AIC prefers them to one σ",
    )
    p.add_argument(
        "--risk-aversion",
        type=float,
        default=0.0,
        help="CARA γ [1/price] of the running penalty (γ/2)·σ²·q², the maker's choice (default 0: risk-neutral)",
    )
    return p


def session_arguments(p: argparse.ArgumentParser, horizon: float) -> None:
    """The calibrated market's clock: ``--time-unit`` [s], ``--horizon`` (default ``horizon``) and ``--dt``."""
    p.add_argument("--time-unit", type=float, default=60.0, help="seconds per unit of model time (default 60)")
    p.add_argument("--horizon", type=float, default=horizon, help=f"a session, in time units (default {horizon:g})")
    p.add_argument("--dt", type=float, default=0.01, help="the step, in time units (default 0.01)")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        for flag in ("time_unit", "horizon", "dt", "sampling"):
            if not getattr(args, flag) > 0:
                raise ValueError(f"--{flag.replace('_', '-')} must be > 0; got {getattr(args, flag)}")
        if args.lot is not None and not args.lot > 0:
            raise ValueError(f"--lot must be > 0; got {args.lot}")
        if not args.risk_aversion >= 0:
            raise ValueError(f"--risk-aversion must be ≥ 0; got {args.risk_aversion}")
        tape = read_tape(args.data)
        result = calibrate(
            tape,
            args.time_unit,
            args.horizon,
            args.dt,
            args.sampling,
            args.lot,
            args.fee,
            risk_aversion=args.risk_aversion,
            single_size=args.single_size,
            regimes=args.regimes,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    choices = {
        key: getattr(args, key)
        for key in ("time_unit", "horizon", "dt", "sampling", "fee", "risk_aversion", "single_size", "regimes")
    }
    choices["lot"] = result.lot
    document = market_file(result, tape, choices)
    text = report_text(document, result, tape)
    report = args.out.with_name(f"{args.out.stem}-report")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with staged(report) as staging:  # the report whole or not at all, then the market file
        write_figures(staging, tape, result, args.sampling)
        atomic_write_text(staging / "report.md", text)
    atomic_write_text(args.out, yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    for warning in document["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"market: {args.out}")
    print(f"report: {report / 'report.md'}")
    return 0


def estimate_entry(estimate: Estimate, unit: str, scale: float = 1.0) -> dict[str, Any]:
    return {
        "value": estimate.value * scale,
        "ci95": [estimate.low * scale, estimate.high * scale],
        "count": estimate.count,
        "unit": unit,
    }


def market_file(result: Calibration, tape: Tape, choices: dict[str, Any]) -> dict[str, Any]:
    """The market file's document: ``market`` (``envs.Market.document``, what ``--world-file`` reads), its
    ``provenance`` (sources and their hashes, the span, the choices), the ``estimates`` behind it in the market's
    units, the ``diagnostics`` and ``warnings``."""
    unit = choices["time_unit"]
    root = math.sqrt(unit)
    estimates = {
        "sigma": estimate_entry(result.sigma, "price/√time", root),
        **{f"intensity_{name}": estimate_entry(e, "1/time", unit) for name, e in result.intensity.items()},
        **{f"fill_decay_{name}": estimate_entry(e, "1/price") for name, e in result.decay.items()},
        "fill_shift_logistic": estimate_entry(result.logistic["shift"], ""),
        "fill_slope_logistic": estimate_entry(result.logistic["slope"], "1/price"),
    }
    if result.regimes is not None:
        for j, name in enumerate(("calm", "stressed")):
            estimates[f"sigma_{name}"] = estimate_entry(result.regimes.sigma[j], "price/√time", root)
            estimates[f"leave_rate_{name}"] = estimate_entry(result.regimes.leave_rate[j], "1/time", unit)
    return {
        "market": result.market.document(),
        "provenance": {
            "command": "python -m eval.calibrate",
            "sources": [{"file": name, "sha256": digest} for name, digest in tape.sources],
            "start_unix_seconds": tape.start,
            "span_seconds": tape.duration,
            "choices": {**choices, "sweep_window_seconds": SWEEP_WINDOW, "mid": "last quote before each order"},
        },
        "estimates": estimates,
        "diagnostics": {
            "fill_curve": result.curve,
            "aic": result.criterion,
            "touch_half_spread": result.touch,
            "orders_short_of_the_touch": result.stale,
            "fill_decay_change_with": result.diagnostics,
            "sigma_by_sampling_seconds": {str(s): e.value * root for s, e in result.signature.items()},
        },
        "warnings": warnings_of(result, tape),
    }


def warnings_of(result: Calibration, tape: Tape) -> list[str]:
    """What makes the fit less trustworthy: too short a tape, too few orders, many stale mids, a side's k outside the
    other's interval, a σ that moves with the sampling."""
    found = []
    if tape.duration < SHORT_TAPE:
        found.append(
            f"the tape spans {tape.duration:.0f} s (< {SHORT_TAPE:.0f}): intervals are wide and regimes unseen"
        )
    for name in ("bid", "ask"):
        if result.intensity[name].count < FEW_ORDERS:
            found.append(f"{result.intensity[name].count} market orders on the {name} (< {FEW_ORDERS})")
    if result.stale > 0.1:
        found.append(
            f"{result.stale:.0%} of orders measured short of the touch: the quotes lag the trades, so depths are noisy"
        )
    bid, ask = result.decay["bid"], result.decay["ask"]
    if bid.high < ask.low or ask.high < bid.low:
        found.append(f"k differs between the sides (bid {bid.value:.4g}, ask {ask.value:.4g}): one k fits neither well")
    for name, (depth, observed) in observed_rates(tape, result).items():
        worst = float(np.max(np.abs(np.log(observed / result.fitted_rate(name, depth)))))
        if worst > math.log(10.0):
            found.append(
                f"the {result.curve} curve misses the {name}'s observed rate by a factor {math.exp(worst):.3g} at some "
                f"depth (see the residuals): the orders' depths beyond the touch do not follow it"
            )
    if result.regimes is not None and not result.regimes.chosen:
        found.append(f"the market keeps one σ: {result.regimes.why_not}")
    values = [e.value for e in result.signature.values()]
    if len(values) > 1 and max(values) > 1.25 * min(values):
        found.append("σ̂ moves by more than 25 % with the sampling (microstructure noise or too few returns)")
    return found


def observed_rates(tape: Tape, result: Calibration) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side (``bid``: sells, ``ask``: buys) its orders' depths, sorted and at least the touch [price], and the
    rate [per second] at which orders reached at least each of them."""
    orders = market_orders(tape)
    rates = {}
    for name, side in (("bid", -1), ("ask", 1)):
        depth = np.sort(np.maximum(orders.depth[orders.side == side], result.touch))
        rates[name] = depth, (depth.size - np.arange(depth.size)) / tape.duration
    return rates


def write_figures(folder: Path, tape: Tape, result: Calibration, sampling: float) -> None:
    """``intensity.png`` (orders per second reaching each depth, log scale, against the fit; the residuals; the
    mid's returns against the model's normal law) and ``sizes.png`` (the size ladder)."""
    figure, axes = plots.plt.subplots(1, 3, figsize=(15, 4))
    for (name, (depth, rate)), colour in zip(observed_rates(tape, result).items(), ("C0", "C1"), strict=True):
        fitted = result.fitted_rate(name, depth)
        axes[0].semilogy(depth, rate, ".", color=colour, markersize=2, label=f"{name}: observed")
        axes[0].semilogy(depth, fitted, "-", color=colour, label=f"{name}: the market's {result.curve} curve")
        axes[1].plot(depth, np.log(rate / fitted), ".", color=colour, markersize=2, label=name)
    axes[0].set(xlabel="depth from the mid δ [price]", ylabel="orders per second reaching δ")
    axes[1].axhline(0.0, color="grey", linewidth=0.5)
    axes[1].set(xlabel="depth from the mid δ [price]", ylabel="ln(observed / fitted)")
    returns = mid_returns(tape, sampling)
    if returns.size > 1 and returns.std() > 0:
        (osm, osr), (slope, intercept, _) = stats.probplot(returns / returns.std())
        axes[2].plot(osm, osr, ".", markersize=3, label="mid returns")
        axes[2].plot(osm, slope * osm + intercept, "-", label="normal")
    axes[2].set(
        xlabel="normal quantiles", ylabel="standardized returns", title="the mid's returns against the model's law"
    )
    for axis in axes:
        axis.legend(fontsize=7)
    figure.tight_layout()
    atomic_write_bytes(folder / "intensity.png", plots.png_bytes(figure))
    plots.close(figure)
    asset = result.market.assets[0]
    figure, axis = plots.plt.subplots(figsize=(5, 4))
    axis.bar([str(size) for size in asset.sizes], asset.size_probabilities)
    axis.set(xlabel="request size [lots]", ylabel="share of orders", title="the size ladder")
    figure.tight_layout()
    atomic_write_bytes(folder / "sizes.png", plots.png_bytes(figure))
    plots.close(figure)


def report_text(document: dict[str, Any], result: Calibration, tape: Tape) -> str:
    provenance, asset = document["provenance"], document["market"]["assets"][0]
    sources = ", ".join(f"`{source['file']}`" for source in provenance["sources"])
    lines = [
        "# Calibrated market",
        "",
        f"From {sources}: {tape.duration:.0f} s, {tape.trade_time.size:,} trades, {tape.quote_time.size:,} quote "
        f"updates; choices {provenance['choices']}.",
        "",
        "| estimate | value | 95 % interval | observations | unit |",
        "|---|---:|---|---:|---|",
    ]
    for name, entry in document["estimates"].items():
        low, high = entry["ci95"]
        lines.append(
            f"| {name} | {entry['value']:.5g} | [{low:.5g}, {high:.5g}] | {entry['count']:,} | {entry['unit']} |"
        )
    lines += [
        "",
        f"The fill curve: {result.curve} (AIC exponential {result.criterion['exponential']:.6g}, logistic "
        f"{result.criterion['logistic']:.6g}; the lower is chosen).",
        "",
        f"The market: σ = {asset['sigma']:.5g}, A = {asset['arrival_intensity']:.5g}, sell share "
        f"{asset['sell_share']:.3f}, "
        + (
            f"α = {asset['fill_shift']:.4g}, β = {asset['fill_slope']:.5g}"
            if result.curve == "logistic"
            else f"k = {asset['fill_decay']:.5g}"
        )
        + f", sizes {asset['sizes']} with shares "
        f"{[round(p, 3) for p in asset['size_probabilities']]}, limit {asset['max_inventory']}.",
        "",
        *(
            [
                f"Volatility regimes: {'held by the market' if result.regimes.chosen else 'not held (one σ)'}; "
                f"log-likelihood of one σ {result.regimes.log_likelihood['one']:.6g}, of two regimes "
                f"{result.regimes.log_likelihood['two']:.6g} (held where the AIC prefers two and each lasts two samples or "
                "more).",
                "",
            ]
            if result.regimes is not None
            else []
        ),
        "## Diagnostics",
        "",
        f"- touch (median quoted half-spread): {result.touch:.5g}; orders measured short of it: {result.stale:.1%}",
        *(
            f"- k̂ with {choice}: bid {changes['bid']:+.1%}, ask {changes['ask']:+.1%}"
            for choice, changes in result.diagnostics.items()
        ),
        "- σ̂ by sampling: "
        + ", ".join(f"{s} s: {v:.4g}" for s, v in document["diagnostics"]["sigma_by_sampling_seconds"].items()),
        "",
        *(f"- **Warning:** {warning}." for warning in document["warnings"]),
        "",
        "![intensity by depth, residuals and returns](intensity.png)",
        "",
        "![sizes](sizes.png)",
        "",
    ]
    return "\n".join(lines)
