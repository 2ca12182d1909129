"""Named scenarios: the seed's worked example and the Avellaneda–Stoikov 2008 simulation (reproductions),
and rung 3's hedging trade-off."""

from __future__ import annotations

from envs import make_world
from envs.rollout import rollout
from eval.evaluate import build_policy
from eval.metrics import rollout_metrics
from eval.run import Job
from eval.specs import parse_spec

SCENARIOS = ("worked_example", "as2008", "hedging")  # scenario_jobs' builders, in this order
AS2008_RISK_AVERSIONS = (0.1, 0.01, 1.0)
HEDGING_POLICIES = ("no_hedge", "full_hedge", "band_hedge", "closed_form", "optimal")
# The hedged preset's costs scaled: nearly free, as set, and dear [ψ price/lot, η price·time/lot²].
HEDGING_COSTS = {"cheap": (0.0, 0.00005), "preset": (0.02, 0.0005), "dear": (0.2, 0.002)}


def _job(label, world, specs):
    parsed = [parse_spec(text) for text in specs]
    return Job(label, world, {spec.text: (spec, build_policy(spec, world)) for spec in parsed})


def worked_example_jobs(episodes: int, seed: int) -> list[Job]:
    """Symmetric 0.05 vs linear skew 0.01/lot vs the same with a 30-lot hard limit, 60/40 sell-heavy flow,
    plus the 30-lot limit without skew, the case where the cap binds.

    The seed describes max |q| of about 52 (symmetric), about 18 (skew) and 30 (with the limit).
    """
    world = make_world("worked_example")
    return [
        _job(
            "worked_example",
            world,
            [
                "symmetric:half_spread=0.05",
                "linear_skew:skew=0.01,half_spread=0.05",
                "linear_skew:skew=0.01,half_spread=0.05,limit=30",
                # The hard limit without skew: the backstop that caps the drifting book at 30 lots.
                "linear_skew:skew=0,half_spread=0.05,limit=30",
            ],
        )
    ]


def as2008_jobs(episodes: int, seed: int) -> list[Job]:
    """A–S 2008 §4: for each γ, the inventory strategy against a symmetric strategy quoting the
    inventory strategy's average spread, centred on the mid."""
    world = make_world("as2008")
    jobs = []
    for gamma in AS2008_RISK_AVERSIONS:
        inventory_spec = f"avellaneda_stoikov:risk_aversion={gamma}"
        inventory_policy = build_policy(parse_spec(inventory_spec), world)
        measured = rollout(world, lambda o, p=inventory_policy: p.predict(o)[0], episodes, seed)
        half_spread = rollout_metrics(measured, world, gamma)["spread_mean"] / 2
        jobs.append(_job(f"as2008 gamma={gamma}", world, [inventory_spec, f"symmetric:half_spread={half_spread:.6g}"]))
    return jobs


def hedging_jobs(episodes: int, seed: int) -> list[Job]:
    """The source documents' trade-off: ``no_hedge`` vs ``full_hedge`` vs ``band_hedge`` vs ``closed_form`` vs
    ``optimal`` in the ``hedged`` world at three hedge costs (``HEDGING_COSTS``) and in ``externalize``.
    Price risk turns into basis risk (``net_risk_mean`` against ``mean_abs_inventory``); cheap hedging
    wins; dear hedging loses to skewing."""
    jobs = []
    for label, (spread_cost, impact) in HEDGING_COSTS.items():
        world = make_world("hedged", hedge_spread_cost=spread_cost, hedge_impact=impact)
        jobs.append(_job(f"hedged {label}", world, list(HEDGING_POLICIES)))
    jobs.append(_job("externalize", make_world("externalize"), list(HEDGING_POLICIES)))
    return jobs


def scenario_jobs(name: str, episodes: int, seed: int) -> list[Job]:
    builders = {"worked_example": worked_example_jobs, "as2008": as2008_jobs, "hedging": hedging_jobs}
    if name not in builders:
        raise ValueError(f"unknown scenario {name!r}; accepted: {list(SCENARIOS)}")
    return builders[name](episodes, seed)
