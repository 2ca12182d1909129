"""Seeds and hyperparameter sweeps on Ray Tune: ``python -m train.sweep --help``.

Each run is an ordinary run folder (usable with ``python -m eval``, ``--resume`` and TensorBoard); the
statistics follow Agarwal et al. (2021). Ray is the optional extra ``sweep``: ``status`` and ``report``
work without it.
"""
