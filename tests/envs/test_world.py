import numpy as np
import pytest

from envs import World, decode_observation, list_presets, make_world, observation_at, observation_space


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
    bid, ask = world.market.assets[0].side_intensities
    assert bid == pytest.approx(2 * world.arrival_intensity * 0.6)
    assert ask == pytest.approx(2 * world.arrival_intensity * 0.4)


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
    transition = world.market.regime_step_transition
    np.testing.assert_allclose(transition.sum(axis=1), 1.0)
    # Two-state chain with rates a = 2 (0→1) and b = 4 (1→0): stationary law (b, a) / (a + b).
    np.testing.assert_allclose(world.market.stationary_regime_distribution, [4 / 6, 2 / 6], atol=1e-9)


def test_natural_scales_follow_the_physics():
    world = make_world("default")
    scales = world.natural_scales
    k, rate = world.fill_decay, world.arrival_intensity * np.exp(-1)
    skew = np.sqrt(world.running_penalty / (k * rate))  # φ = 1 > α/T = 0.5
    assert scales["skew_per_lot"] == pytest.approx(skew)
    assert scales["inventory_std"] == pytest.approx(np.sqrt(1 / (2 * k * skew)))
    assert world.inventory_unit == pytest.approx(3 * scales["inventory_std"])
    reach = 1 / k + skew * world.inventory_unit
    assert world.offset_range == pytest.approx((1 / k - 1.5 * reach, 1 / k + 2 * reach))
    # Without a penalty the unskewed random walk over the session sets the scale, capped at Q.
    free = make_world("default", running_penalty=0.0, terminal_penalty=0.0, max_inventory=1000)
    assert free.inventory_unit == pytest.approx(3 * np.sqrt(2 * rate * free.horizon))
    assert make_world("default", running_penalty=0.0, terminal_penalty=0.0).inventory_unit == 10
    # Explicit values win, and resolved() writes the derived ones in.
    assert make_world("default", inventory_scale=4).inventory_unit == 4
    resolved = world.resolved()
    assert (resolved.min_offset, resolved.max_offset) == world.offset_range
    assert resolved.inventory_scale == world.inventory_unit and resolved.resolved() == resolved


def test_the_time_unit_is_the_span_of_the_close_capped_at_the_session():
    """τ = 1/(2√(φ·k·λ)), the optimal skew's relaxation time; the unit is min(T, 20·τ)."""
    # α/T = 4/30 exceeds φ = 0.08, so the terminal penalty sets τ.
    long = make_world(
        "default",
        sigma=0.05,
        arrival_intensity=10.0,
        fill_decay=9.5,
        max_inventory=3,
        running_penalty=0.08,
        terminal_penalty=4.0,
        horizon=30.0,
        dt=0.03,
    )
    tau = 0.5 / np.sqrt((4.0 / 30.0) * 9.5 * 10.0 * np.exp(-1))
    assert long.natural_scales["close_time"] == pytest.approx(tau)
    assert long.time_unit == pytest.approx(20 * tau) and long.time_unit < long.horizon / 5
    # The close's last step and the session's first are far apart in the observation, and decode exactly.
    observation = observation_at(long, np.zeros((3, 1), dtype=np.int64), np.array([1, 100, long.n_steps]))
    np.testing.assert_allclose(observation[:, 1], np.array([1, 100, 1000]) * long.dt / long.time_unit, rtol=1e-6)
    assert observation_space(long).high[1] == pytest.approx(long.horizon / long.time_unit)
    np.testing.assert_array_equal(decode_observation(long, observation)["time_to_close"] / long.dt, [1, 100, 1000])
    # The calmest regime's penalty sets τ: its close lasts longest.
    calm = make_world("regimes", volatility_scaled_penalty=True)
    phi = calm.market.running_penalty_levels.min()
    assert calm.natural_scales["close_time"] == pytest.approx(
        0.5 / np.sqrt(max(phi, calm.terminal_penalty / calm.horizon) * calm.fill_decay * calm.arrival_intensity / np.e)
    )
    # Shorter sessions, and worlds without a penalty, observe the fraction of the session left.
    assert make_world("default").time_unit == make_world("default").horizon
    assert make_world("as2008").time_unit == make_world("as2008").horizon
    assert make_world("default", time_scale=0.25).time_unit == 0.25
    assert long.resolved().time_scale == long.time_unit
    # A session that outlasts its close also observes the close's relaxation; an explicit list wins.
    assert long.observation_names[3:] == ("close_proximity", "close_relaxation")
    assert make_world("default").observation_names[3:] == ("close_proximity",)
    assert long.replace(observation_features=()).observation_names == ("inventory", "time_to_close", "volatility")
    assert long.resolved().observation_features == ("close_proximity", "close_relaxation")


def test_a_wide_limit_does_not_flatten_the_observed_inventory():
    """Q = 100 where the optimum keeps a few lots: the observation's unit follows the physics, not Q."""
    world = make_world("default", max_inventory=100, fill_decay=1.0, running_penalty=0.1, terminal_penalty=0.1)
    assert world.inventory_unit < 15
    assert observation_space(world).high[0] == pytest.approx(100 / world.inventory_unit)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_offset": -1.0}, "min_offset and max_offset must be set together"),
        ({"min_offset": 1.0, "max_offset": 0.5}, "max_offset must be > min_offset"),
        ({"inventory_scale": 0.0}, "inventory_scale must be a finite number > 0 or null"),
        ({"inventory_scale": "big"}, "inventory_scale must be a finite number"),
        ({"time_scale": -1.0}, "time_scale must be a finite number > 0 or null"),
    ],
)
def test_scale_fields_are_validated(fields, message):
    with pytest.raises(ValueError, match=message):
        make_world("default", **fields)
