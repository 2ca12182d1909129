"""Seed lists as users write them: ``"0-9"``, ``"0,2,5"``, ``"0-4,10"``, a single ``"3"``, or a YAML list."""

from __future__ import annotations

from typing import Any


def parse_seeds(value: Any, what: str = "--seeds") -> list[int]:
    """Distinct non-negative integer seeds in the order given; ``ValueError`` naming ``what`` otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        items: list[Any] = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    else:
        raise ValueError(f"{what} must be seeds like 0-9, 0,2,5 or a list of integers; got {value!r}")
    seeds: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            seeds.append(item)
            continue
        text = str(item)
        low, dash, high = text.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or (not dash and high):
            raise ValueError(f"{what}: {text!r} is not a seed or a range low-high of non-negative integers")
        start, stop = int(low), int(high) if dash else int(low)
        if stop < start:
            raise ValueError(f"{what}: range {text!r} ends before it starts")
        seeds.extend(range(start, stop + 1))
    if not seeds or any(seed < 0 for seed in seeds):
        raise ValueError(f"{what} must name at least one non-negative seed; got {value!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{what} names a seed twice; got {value!r}")
    return seeds
