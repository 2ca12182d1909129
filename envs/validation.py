"""Validation driven by the fields' own declarations.

A dataclass field declares what it accepts and its unit with ``declared(default, accepts, unit)``;
``validate(obj)`` converts every declared field of a frozen dataclass in place and raises ``ValueError`` naming
the first bad field, its value and what is accepted. Checks across fields stay with the class that owns them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Accepts:
    """What a field accepts: ``convert`` returns the value in its canonical type, or ``REJECTED``; ``description`` says what is accepted, for the error."""

    convert: Callable[[Any], Any]
    description: str


# What ``Accepts.convert`` returns for a value it does not accept (``None`` is a value some fields accept).
REJECTED = object()


def declared(default: Any, accepts: Accepts, unit: str = "", doc: str = "") -> Any:
    """A dataclass field with its declaration in the metadata (``accepts``, ``unit``, ``doc``)."""
    metadata = {"accepts": accepts, "unit": unit, "doc": doc}
    if isinstance(default, (list, dict, set)):
        raise TypeError("declare mutable defaults as tuples")
    return dataclasses.field(default=default, metadata=metadata)


def validate(obj: Any) -> None:
    """Convert every declared field of ``obj`` (a frozen dataclass) to its canonical type, or raise
    ``ValueError`` naming the field, what is accepted and the value given."""
    for field in dataclasses.fields(obj):
        accepts = field.metadata.get("accepts")
        if accepts is None:
            continue
        value = getattr(obj, field.name)
        try:
            converted = accepts.convert(value)
        except _Nested as error:  # a nested dataclass's own error, named by its path
            raise ValueError(f"{field.name}{error}") from None
        if converted is REJECTED:
            raise ValueError(f"{field.name} must be {accepts.description}; got {value!r}")
        object.__setattr__(obj, field.name, converted)


def check_fields(obj: Any, checks: list[tuple[str, bool, str]]) -> None:
    """``ValueError`` for the first failed ``(field, ok, what is accepted)``, naming the field and its value: the checks
    across fields that a class owns."""
    for name, ok, accepted in checks:
        if not ok:
            raise ValueError(f"{name} {accepted}; got {getattr(obj, name)!r}")


def whole_steps(horizon: float, dt: float) -> bool:
    """Whether ``dt`` divides ``horizon`` into a whole number (≥ 1) of steps (to a relative 1e-9)."""
    steps = int(round(horizon / dt))
    return steps >= 1 and abs(steps * dt - horizon) <= 1e-9 * horizon


def field_table(kind: type) -> list[tuple[str, str, str, Any]]:
    """``(name, unit, accepted, default)`` of every declared field of a dataclass, in order (for the docs)."""
    return [
        (f.name, f.metadata["unit"], f.metadata["accepts"].description, f.default)
        for f in dataclasses.fields(kind)
        if "accepts" in f.metadata
    ]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        return None
    return float(value)


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (Integral, Real)):
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


def real(low: float = -math.inf, high: float = math.inf, *, open_low: bool = False) -> Accepts:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``open_low``)."""

    def convert(value: Any) -> Any:
        number = _number(value)
        if number is None or number > high or number < low or (open_low and number == low):
            return REJECTED
        return number

    return Accepts(convert, _interval("a finite number", low, high, open_low))


def integer(low: int | float = -math.inf, high: int | float = math.inf) -> Accepts:
    """A whole number in ``[low, high]``."""

    def convert(value: Any) -> Any:
        number = _whole(value)
        return REJECTED if number is None or not low <= number <= high else number

    return Accepts(convert, _interval("an integer", low, high, False))


def choice(options: Sequence[str]) -> Accepts:
    """One of ``options``."""
    return Accepts(lambda value: value if value in options else REJECTED, f"one of {tuple(options)}")


def flag() -> Accepts:
    """``True`` or ``False``."""
    return Accepts(lambda value: bool(value) if isinstance(value, (bool, np.bool_)) else REJECTED, "true or false")


def sequence_of(item: Accepts, *, min_length: int = 1, what: str = "") -> Accepts:
    """A list or tuple of at least ``min_length`` entries, each accepted by ``item``; returned as a tuple."""

    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, (tuple, list)) or len(value) < min_length:
            return REJECTED
        entries = tuple(item.convert(entry) for entry in value)
        return REJECTED if any(entry is REJECTED for entry in entries) else entries

    plural = what or f"entries each {item.description}"
    return Accepts(convert, f"a list of at least {min_length} {plural}")


def matrix() -> Accepts:
    """A square matrix of finite numbers given as a list of rows; returned as a tuple of tuples."""
    row = sequence_of(real())

    def convert(value: Any) -> Any:
        rows = sequence_of(row).convert(value)
        if rows is REJECTED or any(len(r) != len(rows) for r in rows):
            return REJECTED
        return rows

    return Accepts(convert, "a square matrix of finite numbers, given as a list of rows")


def nothing() -> Accepts:
    """``None`` (null), for an optional field with ``either``."""
    return Accepts(lambda value: None if value is None else REJECTED, "null")


def either(*options: Accepts) -> Accepts:
    """Any of ``options``, tried in order."""

    def convert(value: Any) -> Any:
        for option in options:
            converted = option.convert(value)
            if converted is not REJECTED:
                return converted
        return REJECTED

    return Accepts(convert, " or ".join(option.description for option in options))


def instances(kind: type, *, min_length: int = 0) -> Accepts:
    """A list of ``kind`` (a dataclass), each given as an instance or a mapping of its fields (as YAML gives
    it; an unknown field or a bad value raises the class's own ``ValueError``)."""

    def convert(value: Any) -> Any:
        if isinstance(value, (kind, dict)):
            value = (value,)
        if not isinstance(value, (tuple, list)) or len(value) < min_length:
            return REJECTED
        entries = tuple(_built(kind, entry, f"[{index}]") for index, entry in enumerate(value))
        return REJECTED if any(entry is REJECTED for entry in entries) else entries

    return Accepts(
        convert,
        f"a list of {f'at least {min_length} ' if min_length else ''}{kind.__name__} (or mappings of their fields)",
    )


def nested(kind: type) -> Accepts:
    """One ``kind`` (a dataclass), given as an instance or a mapping of its fields."""
    return Accepts(lambda value: _built(kind, value, ""), f"a {kind.__name__} (or a mapping of its fields)")


def build(kind: type, entry: Any) -> Any:
    """``entry`` if it is a ``kind``, ``kind(**entry)`` for a mapping (``ValueError`` naming an unknown field),
    else ``REJECTED``."""
    if isinstance(entry, kind):
        return entry
    if not isinstance(entry, dict):
        return REJECTED
    accepted = [f.name for f in dataclasses.fields(kind)]
    unknown = sorted(set(entry) - set(accepted))
    if unknown:
        raise ValueError(f"unknown {kind.__name__} field(s) {unknown}; accepted: {accepted}")
    return kind(**entry)


class _Nested(ValueError):
    """A nested dataclass's ``ValueError``, its message prefixed with the entry's place (``[0]: ...``)."""


def _built(kind: type, entry: Any, place: str) -> Any:
    try:
        return build(kind, entry)
    except ValueError as error:
        raise _Nested(f"{place}: {error}") from None


def _interval(what: str, low: float, high: float, open_low: bool) -> str:
    if low == -math.inf and high == math.inf:
        return what
    if high == math.inf:
        return f"{what} {'>' if open_low else '≥'} {low:g}"
    if low == -math.inf:
        return f"{what} ≤ {high:g}"
    return f"{what} in {'(' if open_low else '['}{low:g}, {high:g}]"
