"""MkDocs hook: the field tables of the docs, written at build time from the dataclasses' own declarations.

A page holds a marker ``<!-- fields: envs.market.Asset -->`` (a module and a dataclass whose fields are declared
with ``envs.validation.declared``); the build replaces it by a table of every declared field: name, unit, what
it accepts (``envs.validation.field_table``), default and meaning (the declaration's ``doc``). A marker naming
something that is not such a class fails the build with the marker's page and text.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!--\s*fields:\s*([\w.]+)\s*-->")


def on_config(config: Any) -> Any:
    # The tables describe this checkout's code: put it first on the path, ahead of any installed copy.
    if str(ROOT) not in sys.path[:1]:
        sys.path.insert(0, str(ROOT))
    return config


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return MARKER.sub(lambda match: fields_table(match.group(1), page.file.src_path), markdown)


def fields_table(dotted: str, where: str = "") -> str:
    """The Markdown table of ``dotted`` (``module.Class``)'s declared fields."""
    from envs.validation import field_table

    kind = _dataclass(dotted, where)
    docs = {field.name: field.metadata.get("doc", "") for field in dataclasses.fields(kind)}
    rows = field_table(kind)
    if not rows:
        raise PluginError(f"{where}: <!-- fields: {dotted} --> names a dataclass without declared fields")
    lines = ["| field | unit | accepts | default | meaning |", "|---|---|---|---|---|"]
    for name, unit, accepted, default in rows:
        cells = [f"`{name}`", unit or "—", accepted, f"`{_default(default)}`", docs[name] or "—"]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def _dataclass(dotted: str, where: str) -> type:
    module_name, _, class_name = dotted.rpartition(".")
    if not module_name:
        raise PluginError(f"{where}: <!-- fields: {dotted} --> must name module.Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PluginError(f"{where}: <!-- fields: {dotted} -->: cannot import {module_name}: {error}") from None
    if not str(Path(module.__file__).resolve()).startswith(str(ROOT)):
        raise PluginError(f"{where}: {module_name} was imported from {module.__file__}, not from {ROOT}")
    kind = getattr(module, class_name, None)
    if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
        raise PluginError(f"{where}: <!-- fields: {dotted} -->: {class_name} is not a dataclass in {module_name}")
    return kind


def _default(value: Any) -> str:
    """A default as a YAML config would write it (a nested declared dataclass by its class name)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if dataclasses.is_dataclass(value):
        return f"{type(value).__name__}()" if value == type(value)() else repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_default(item) for item in value) + "]"
    return str(value)
