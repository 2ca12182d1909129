"""Paired evaluation of learned and classic policies: metrics, reports, plots and TensorBoard output.

``python -m eval --help`` for the command; ``evaluate_policies`` for the library entry point.
"""

from eval.evaluate import build_policy, evaluate_policies
from eval.learned import LearnedPolicy, load_learned
from eval.specs import PolicySpec, parse_spec

__all__ = ["LearnedPolicy", "PolicySpec", "build_policy", "evaluate_policies", "load_learned", "parse_spec"]
