"""The classic ladder of quoting policies and the exact optimum, all behind SB3's ``predict`` protocol.

``make_policy(name, world, **params)`` builds one; ``list_policies()`` names them with parameters.
"""

from baselines.calibration import calibrate_linear_skew
from baselines.policy import Parameter, Policy
from baselines.registry import POLICIES, list_policies, make_policy

__all__ = ["POLICIES", "Parameter", "Policy", "calibrate_linear_skew", "list_policies", "make_policy"]
