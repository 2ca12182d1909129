import math

import numpy as np
import pytest
import torch
from scipy import optimize

from envs import action_to_quotes, make_world
from envs.presets import make_market
from train.config import load_config, world_of
from train.exploration import (
    FALL_START,
    QuoteStdCeiling,
    ceiling,
    final_action_std,
    noise_widening,
    quote_legs,
    quote_noise,
)
from train.trainer import build_env, exploration_ceiling


def noise_averaged_best_offset(k: float, noise: float) -> float:
    """argmax over δ of E[(δ+ε)·e^(−k(δ+ε))], ε ~ N(0, noise²), by Gauss–Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()

    def averaged(delta):
        offsets = delta + noise * nodes
        return -np.sum(weights * offsets * np.exp(-k * offsets))

    return optimize.minimize_scalar(averaged, bounds=(0.0, 10.0 / k), method="bounded", options={"xatol": 1e-10}).x


@pytest.mark.parametrize("fill_decay", [0.3, 2.0, 30.0])
@pytest.mark.parametrize("share", [0.05, 0.2, 0.4])
def test_training_under_noise_moves_the_best_quote_out_by_the_noise_widening(fill_decay, share):
    """The bias the ceiling bounds: the noise-averaged best quote is 1/k + noise_widening(k, s) = 1/k + k·s²."""
    noise = share / fill_decay
    best = noise_averaged_best_offset(fill_decay, noise)
    assert best == pytest.approx(1 / fill_decay + noise_widening(fill_decay, noise), abs=1e-6 / fill_decay)
    assert noise_widening(fill_decay, noise) == pytest.approx(share**2 / fill_decay)


def test_the_ceiling_holds_then_falls_log_linearly_and_never_rises():
    assert ceiling(0.2, 0.02, 0.0) == pytest.approx(0.2)
    assert ceiling(0.2, 0.02, FALL_START) == pytest.approx(0.2)
    assert ceiling(0.2, 0.02, (1 + FALL_START) / 2) == pytest.approx(math.sqrt(0.2 * 0.02))
    assert ceiling(0.2, 0.02, 1.0) == pytest.approx(0.02)
    assert ceiling(0.2, 0.02, 1.7) == pytest.approx(0.02)
    assert ceiling(0.05, 0.5, 0.5) == pytest.approx(0.05)  # a final std above the initial one: flat


@pytest.mark.parametrize("changes", [{}, {"fill_decay": 30.0, "max_inventory": 5}, {"fill_decay": 0.3}])
def test_the_final_action_std_is_final_quote_std_over_k_in_price(changes):
    world = make_world("default", **changes)
    std = final_action_std(world, 0.1)
    assert std.shape == (2,) and std[0] == std[1]
    bid, _, _, _ = action_to_quotes(world, np.array([[0.0, 0.0], std]))
    assert (bid[1] - bid[0]) * world.fill_decay == pytest.approx(0.1)


def test_each_quote_leg_of_a_market_gets_its_own_assets_final_std():
    """Per quote leg (each asset's bid and ask; the hedge legs left out): 0.1/κ [price] of quote noise, κ the asset's
    effective decay, in units of the leg's own action range."""
    market = make_market("dealer")
    std = final_action_std(market, 0.1)
    assert quote_legs(market) == 4 == len(std)
    noise = quote_noise(market, std).reshape(2, 2)  # per asset, its bid and ask
    decay = np.array([asset.effective_decay for asset in market.assets])
    assert std[0] != pytest.approx(std[2])  # the bonds' action ranges differ: so do their legs' stds
    np.testing.assert_allclose(noise * decay[:, None], 0.1, rtol=1e-12)
    assert quote_legs(make_market("two_assets_hedged")) == 4  # the hedge leg is not a quote


def tiny_model(**changes):
    """A PPO model on 4 default-world markets, with the config (the recipe's ``final_quote_std`` 0.1 unless
    changed) and world."""
    overrides = ["env.num_envs=4", *(f"{k}={v}" for k, v in changes.items())]
    config = load_config(None, overrides)
    from stable_baselines3 import PPO

    world = world_of(config)
    kwargs = dict(config.algorithm.policy_kwargs, net_arch=[8], activation_fn=torch.nn.Tanh)
    model = PPO("MlpPolicy", build_env(config, world), n_steps=16, batch_size=32, seed=0, policy_kwargs=kwargs)
    return config, world, model


def test_the_callback_caps_the_quote_legs_and_leaves_a_lower_std_alone():
    config, world, model = tiny_model()
    [callback] = exploration_ceiling(config, world, model)
    initial, final = math.exp(config.algorithm.policy_kwargs["log_std_init"]), final_action_std(world, 0.1)[0]
    assert callback.initial == pytest.approx(initial) and callback.final == pytest.approx(final)
    callback.init_callback(model)
    with torch.no_grad():
        model.policy.log_std[:] = torch.tensor([0.0, math.log(0.9 * ceiling(initial, final, 0.75))])
    model.num_timesteps = int(config.total_timesteps * 0.75)
    callback.on_rollout_start()
    std = model.policy.log_std.exp().detach().numpy()
    assert std[0] == pytest.approx(ceiling(initial, final, 0.75), rel=1e-6)
    assert std[1] == pytest.approx(0.9 * ceiling(initial, final, 0.75), rel=1e-6)
    model.num_timesteps = config.total_timesteps
    callback.on_rollout_start()
    np.testing.assert_allclose(model.policy.log_std.exp().detach().numpy(), final, rtol=1e-6)


def test_the_callback_caps_each_quote_leg_at_its_own_ceiling():
    config, world, model = tiny_model()
    callback = QuoteStdCeiling(0.3, np.array([0.05, 0.1]), config.total_timesteps)
    callback.init_callback(model)
    with torch.no_grad():
        model.policy.log_std[:] = math.log(0.25)
    model.num_timesteps = config.total_timesteps
    callback.on_rollout_start()
    np.testing.assert_allclose(model.policy.log_std.exp().detach().numpy(), [0.05, 0.1], rtol=1e-6)


def test_the_ceiling_is_on_by_default_in_every_market_and_off_at_zero():
    assert load_config(None).algorithm.final_quote_std == 0.1
    config, world, model = tiny_model()
    assert isinstance(exploration_ceiling(config, world, model)[0], QuoteStdCeiling)
    market = make_market("two_assets")
    [callback] = exploration_ceiling(config, market, model)
    np.testing.assert_array_equal(callback.final, final_action_std(market, 0.1))
    config, world, model = tiny_model(**{"algorithm.final_quote_std": 0})
    assert exploration_ceiling(config, world, model) == []


def test_a_policy_without_a_state_independent_std_gets_no_ceiling():
    config, world, ppo = tiny_model()
    assert isinstance(exploration_ceiling(config, world, ppo)[0], QuoteStdCeiling)
    from stable_baselines3 import TD3

    td3 = TD3("MlpPolicy", build_env(config, world), learning_starts=0, seed=0)
    assert exploration_ceiling(config, world, td3) == []
