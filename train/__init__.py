"""Training learned quoting policies with stable-baselines3, compared live against the baselines.

``python -m train --config configs/default.yaml``; library entry points ``load_config`` and ``train``.
"""

from train.config import Config, ConfigError, load_config
from train.trainer import train

__all__ = ["Config", "ConfigError", "load_config", "train"]
