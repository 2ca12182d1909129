"""The per-size quote rule (``Market.quote_rule = "per_size"``): one bid and one ask per asset and size."""

import numpy as np
import pytest

from envs import core, spaces
from envs.presets import make_market
from envs.rollout import rule_rollout

KEYS = np.arange(1, 2001, dtype=np.uint64) * np.uint64(7919)


def dealer(**overrides):
    """The dealer preset (two logistic assets, ladder (1, 2, 5) at (0.5, 0.3, 0.2), Q = 20) with a fee."""
    market = make_market("dealer")
    assets = tuple(asset.__class__(**{**asset.__dict__, "fee": 0.004}) for asset in market.assets)
    return market.replace(assets=assets, **overrides)


def side_rule(inventory, hedge, time_to_close, regime):
    n = inventory.shape[0]
    return np.tile([0.05, 0.03], (n, 1)), np.tile([0.08, np.inf], (n, 1)), None


def test_equal_quotes_per_size_draw_as_one_quote_per_side():
    """Quoting every size alike under the per-size rule is today's rule, draw for draw."""

    def size_rule(*positions):
        bid, ask, _ = side_rule(*positions)
        return np.repeat(bid[..., None], 3, -1), np.repeat(ask[..., None], 3, -1), None

    per_side = rule_rollout(dealer(), side_rule, KEYS)
    per_size = rule_rollout(dealer(quote_rule="per_size"), size_rule, KEYS)
    np.testing.assert_array_equal(per_side.bid_fills, per_size.bid_fills)
    np.testing.assert_array_equal(per_side.ask_fills, per_size.ask_fills)
    np.testing.assert_array_equal(per_side.reward, per_size.reward)
    # A policy quoting per side runs unchanged in a per-size market.
    np.testing.assert_array_equal(per_side.reward, rule_rollout(dealer(quote_rule="per_size"), side_rule, KEYS).reward)


def test_a_side_fills_size_z_with_its_own_quotes_chance():
    """One step from flat: a side fills z lots with chance p_z·(1 − e^(−λ·f(δ_z)·dt)), each size at its own quote,
    paid at that quote; the fills' expected cash (the variance-reduced reward's) is their mean."""
    market = dealer(quote_rule="per_size")
    n = 400_000
    bid = np.array([0.0, 0.1, np.inf])  # the largest size's bid pulled
    ask = np.array([-0.05, 0.02, 0.2])
    action = core.Action.size_quotes(
        np.broadcast_to(bid, (n, 2, 3)), np.broadcast_to(ask, (n, 2, 3)), market.size_table[1]
    )
    state = core.reset(market, np.arange(n, dtype=np.uint64) + np.uint64(11), np.zeros(n, dtype=np.uint64))
    _, outcome = core.step(market, state, action)
    asset = market.assets[0]
    sizes, probabilities = np.array(asset.sizes), np.array(asset.size_probabilities)
    for fills, quotes, intensity in (
        (outcome.bid_fills[0], bid, asset.side_intensities[0]),
        (outcome.ask_fills[0], ask, asset.side_intensities[1]),
    ):
        chance = probabilities * -np.expm1(-intensity * asset.fill_shape(quotes) * market.dt)
        for size, expected in zip(sizes, chance, strict=True):
            observed = np.mean(fills == size)
            assert abs(observed - expected) <= 4.5 * np.sqrt(expected * (1 - expected) / n) + 1e-12, (size, observed)
    paid = outcome.fill_offset[:, 0]
    filled = outcome.bid_fills[0] > 0
    np.testing.assert_array_equal(paid[0][filled], bid[np.searchsorted(sizes, outcome.bid_fills[0][filled])])
    noise = outcome.fill_noise
    assert abs(noise.mean()) <= 4.5 * noise.std() / np.sqrt(n)


def test_the_action_layout_has_a_bid_and_an_ask_per_asset_and_size():
    market = dealer(quote_rule="per_size")
    names = spaces.action_names(market)
    assert names[:4] == ("bid_0_z0", "ask_0_z0", "bid_0_z1", "ask_0_z1") and len(names) == 2 * 2 * 3
    action = np.random.default_rng(3).uniform(-1.0, 0.99, (7, len(names)))
    bid, ask, bid_quoted, ask_quoted = spaces.action_to_quotes(market, action)
    assert bid.shape == (7, 2, 3) and bid_quoted.all()
    np.testing.assert_allclose(spaces.quotes_to_action(market, bid, ask), action, atol=1e-6)
    pulled = action.copy()
    pulled[:, 1] = 1.0  # ask of asset 0, size 0
    assert np.isinf(spaces.action_to_quotes(market, pulled)[1][:, 0, 0]).all()
    with pytest.raises(ValueError, match="last dimension of 12"):
        spaces.action_quotes(market, action[:, :4])
    with pytest.raises(ValueError, match=r"last dimensions \(2, 3\)"):
        spaces.quotes_to_action(market, np.zeros((7, 3, 3)), np.zeros((7, 3, 3)))
    with pytest.raises(ValueError, match="quote_rule 'per_size'"):
        core.policy_action(dealer(), bid, ask)
    with pytest.raises(ValueError, match="quote_rule must be one of"):
        dealer(quote_rule="per_request")
