"""The documentation site builds with ``mkdocs build --strict`` (a broken link, a missing page or an API reference
that does not resolve fails it), and its field tables come from the code: every declared field is on its page."""

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest

from envs.market import Asset, Flow, HedgeInstrument, Market, Penalty, Regimes
from envs.world import World

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!--\s*fields:")


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory, build_site) -> Path:
    return build_site(ROOT, tmp_path_factory.mktemp("site"))


def table_fields(html: str, heading_id: str | None = None) -> set[str]:
    """Field names in the first column of the tables of a page (after ``heading_id``'s heading, up to the next)."""
    if heading_id is not None:
        start = html.index(f'id="{heading_id}"')
        end = html.find("<h3", start + 1)
        html = html[start : end if end > 0 else len(html)]
    return set(re.findall(r"<tr>\s*<td><code>(\w+)</code></td>", html))


def declared(kind: type) -> set[str]:
    return {field.name for field in dataclasses.fields(kind) if "accepts" in field.metadata}


def test_every_page_builds_and_every_marker_is_replaced(site):
    pages = {path.relative_to(site).parent.as_posix() for path in site.rglob("index.html")}
    expected = {"environment", "markets", "baselines", "training", "sweeps", "evaluation", "examples", "results"}
    assert expected | {"history", "api/envs", "api/baselines", "api/eval", "api/train"} <= pages
    for page in site.rglob("*.html"):
        assert not MARKER.search(page.read_text()), f"{page}: a fields marker was left in the page"


def test_the_environment_page_lists_every_world_field(site):
    assert table_fields((site / "environment" / "index.html").read_text()) >= declared(World)


@pytest.mark.parametrize("kind", [Market, Asset, HedgeInstrument, Regimes, Flow, Penalty])
def test_the_markets_page_lists_every_market_field(site, kind):
    html = (site / "markets" / "index.html").read_text()
    assert table_fields(html, kind.__name__.lower()) == declared(kind)


def test_the_api_reference_is_generated_from_the_docstrings(site):
    html = (site / "api" / "envs" / "index.html").read_text()
    assert 'id="envs.world.World"' in html
    assert "Parameters of one market." in html  # World's docstring
    assert 'id="eval.evaluate.evaluate_policies"' in (site / "api" / "eval" / "index.html").read_text()


def test_a_field_table_carries_unit_accepts_default_and_meaning():
    table = load_hooks().fields_table("envs.market.Penalty")
    assert table.splitlines()[0] == "| field | unit | accepts | default | meaning |"
    assert (
        "| `running` | price/(lot²·time) | a finite number ≥ 0 | `0.0` | φ, per lot² of the first asset's risk |"
        in table
    )
    assert "| `volatility_scaled` | — | true or false | `false` |" in table


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("envs.market.Nothing", "Nothing is not a dataclass in envs.market"),
        ("envs.nowhere.World", "cannot import envs.nowhere"),
        ("World", "must name module.Class"),
        ("envs.validation.Accepts", "without declared fields"),
    ],
)
def test_a_bad_marker_fails_the_build_naming_it(marker, message):
    hooks = load_hooks()
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match=re.escape(message)):
        hooks.fields_table(marker, "page.md")
