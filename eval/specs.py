"""The command-line grammar shared by ``train`` and ``eval``: policy specs (``NAME[:key=value,...]`` for a
baseline, ``run:PATH`` for a trained run) and ``--set`` overrides.

``--set KEY=VALUE`` (repeatable; one ``--set`` may hold several, comma-separated) takes the same keys in
both commands: a world or market field, bare (``sigma=1``, ``flow.drift=5``: a nested market field by its path) or
dotted (``world.overrides.sigma=1``), and in ``train`` any dotted config key (``total_timesteps=50000``). Values
are YAML scalars or flow lists.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from envs import Market, field_names

WORLD_OVERRIDES = "world.overrides."


@dataclasses.dataclass(frozen=True)
class PolicySpec:
    """A parsed spec: ``text`` exactly as given, the policy ``name`` (``"run"`` for a learned policy),
    its ``params`` (values parsed as YAML scalars) and, for a learned policy, its ``path``."""

    text: str
    name: str
    params: dict[str, Any]
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params), "path": self.path}


def parse_assignments(text: str, what: str) -> dict[str, Any]:
    """``"a=1,b=x"`` → ``{"a": 1, "b": "x"}``; values are YAML scalars (numbers, booleans, lists)."""
    result: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in _split_top_level(text))):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what}: expected key=value, got {item!r}")
        result[key.strip()] = parse_value(raw.strip())
    return result


def parse_set(texts: list[str] | tuple[str, ...], what: str = "--set") -> dict[str, Any]:
    """Every ``--set`` given, in order, as ``{dotted key: value}``; world fields written bare
    (``sigma``) come back as ``world.overrides.sigma``, so the two spellings mean the same."""
    result: dict[str, Any] = {}
    for text in texts:
        for key, value in parse_assignments(text, what).items():
            result[WORLD_OVERRIDES + key if key.split(".")[0] in _world_keys() else key] = value
    return result


def _world_keys() -> set[str]:
    """Names a bare ``--set`` key may start with: a single-asset world's fields and a market's."""
    return set(field_names()) | {field.name for field in dataclasses.fields(Market)}


def world_overrides(assignments: dict[str, Any], what: str = "--set") -> dict[str, Any]:
    """The world fields among ``parse_set``'s assignments, a dotted path (``flow.drift``) as a nested mapping
    (``{"flow": {"drift": …}}``, which ``Market.replace`` reads); ``ValueError`` naming any other key."""
    overrides: dict[str, Any] = {}
    for key, value in assignments.items():
        if not key.startswith(WORLD_OVERRIDES):
            raise ValueError(
                f"{what} {key}: not a world field; accepted here: world fields, bare or as "
                f"{WORLD_OVERRIDES}<field>, from {field_names()}, or a market's, from {sorted(_world_keys() - set(field_names()))}"
            )
        *parents, name = key[len(WORLD_OVERRIDES) :].split(".")
        target = overrides
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise ValueError(f"{what} {key}: {parent} is set as a whole and by its fields")
        target[name] = value
    return overrides


def parse_value(raw: str) -> Any:
    """A YAML scalar or flow sequence (``0.1``, ``30``, ``true``, ``[-2, 2]``); plain text stays text."""
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        return raw
    return tuple(value) if isinstance(value, list) else value


def parse_spec(text: str) -> PolicySpec:
    """Parse ``NAME[:key=value,...]`` or ``run:PATH``."""
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise ValueError(f"policy spec {text!r} has no name; expected NAME[:key=value,...] or run:PATH")
    if name == "run":
        if not rest.strip():
            raise ValueError(f"policy spec {text!r}: run needs a path, as run:PATH")
        return PolicySpec(text=text, name="run", params={}, path=rest.strip())
    return PolicySpec(text=text, name=name, params=parse_assignments(rest, f"policy spec {text!r}"))


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets, so ``initial_inventory=[-2,2]`` stays whole."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char in "[({"
        depth -= char in "])}"
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
