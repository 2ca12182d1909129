import numpy as np
import pytest

from envs import World, list_presets, make_world


def test_presets_are_listed_and_build():
    assert set(list_presets()) >= {"as2008", "default", "worked_example", "toxic", "regimes"}
    for name in list_presets():
        assert isinstance(make_world(name), World)


def test_as2008_preset_matches_the_paper():
    world = make_world("as2008")
    assert (world.s0, world.horizon, world.sigma, world.dt) == (100.0, 1.0, 2.0, 0.005)
    assert (world.arrival_intensity, world.fill_decay) == (140.0, 1.5)
    assert (world.fill_rule, world.mid_process, world.n_steps) == ("as2008", "binomial", 200)
    assert world.running_penalty == world.terminal_penalty == 0.0


def test_default_world_has_inventory_control():
    world = make_world("default")
    assert world.fill_rule == "poisson" and world.running_penalty > 0 and world.max_inventory < 50


def test_overrides_and_replace_validate():
    world = make_world("as2008", sigma=3.0)
    assert world.sigma == 3.0 and world.replace(sigma=1.0).sigma == 1.0
    with pytest.raises(ValueError, match="sigma"):
        world.replace(sigma=-1.0)


def test_flow_imbalance_splits_intensity():
    world = make_world("worked_example")
    assert world.bid_intensity == pytest.approx(2 * world.arrival_intensity * 0.6)
    assert world.ask_intensity == pytest.approx(2 * world.arrival_intensity * 0.4)


def test_world_is_frozen():
    with pytest.raises(AttributeError):
        make_world().sigma = 1.0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sigma": -0.1}, "sigma"),
        ({"dt": 0.0}, "dt"),
        ({"dt": 2.0}, "dt"),
        ({"dt": 0.3}, "dt"),
        ({"horizon": 0.0}, "horizon"),
        ({"fill_decay": 0.0}, "fill_decay"),
        ({"arrival_intensity": -1.0}, "arrival_intensity"),
        ({"sell_share": 1.5}, "sell_share"),
        ({"sell_share": -0.1}, "sell_share"),
        ({"max_inventory": 0}, "max_inventory"),
        ({"max_inventory": 2.5}, "max_inventory"),
        ({"fill_rule": "exact"}, "fill_rule"),
        ({"mid_process": "gbm"}, "mid_process"),
        ({"running_penalty": -1.0}, "running_penalty"),
        ({"terminal_penalty": -1.0}, "terminal_penalty"),
        ({"adverse_jump": -0.1}, "adverse_jump"),
        ({"initial_inventory": (5, 2)}, "initial_inventory"),
        ({"initial_inventory": 99}, "initial_inventory"),
        ({"regime_scales": (1.0, 2.0), "regime_switch_rates": ((-1.0, 1.0), (1.0, -0.5))}, "regime_switch_rates"),
        ({"regime_scales": (1.0, 2.0), "regime_switch_rates": ((1.0, -1.0), (1.0, -1.0))}, "regime_switch_rates"),
        ({"regime_scales": (1.0, 2.0)}, "regime_switch_rates"),
        ({"regime_scales": (0.0,)}, "regime_scales"),
        ({"max_offset": -3.0}, "max_offset"),
        ({"observation_features": ("order_book",)}, "observation_features"),
        ({"sigma": "high"}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"fee": True}, "fee"),
    ],
)
def test_bad_fields_are_named(overrides, field):
    with pytest.raises(ValueError, match=field):
        make_world("default", **overrides)


def test_unknown_preset_and_field_are_named():
    with pytest.raises(ValueError, match="unknown preset 'nyse'.*as2008"):
        make_world("nyse")
    with pytest.raises(ValueError, match="volatility"):
        make_world("default", volatility=2.0)


def test_regime_transition_is_stochastic_and_stationary_law_is_right():
    world = make_world("regimes")
    transition = world.regime_step_transition
    np.testing.assert_allclose(transition.sum(axis=1), 1.0)
    # Two-state chain with rates a = 2 (0→1) and b = 4 (1→0): stationary law (b, a) / (a + b).
    np.testing.assert_allclose(world.stationary_regime_distribution, [4 / 6, 2 / 6], atol=1e-9)
