import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import envs
from envs import ENV_ID, MarketMakingEnv, MarketMakingVectorEnv, make_world


def test_gymnasium_check_env_passes_without_warnings():
    from gymnasium.utils.env_checker import check_env

    for preset in ("default", "regimes"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            features = ("mid_return", "last_fills", "fill_imbalance")
            check_env(gym.make(ENV_ID, world=preset, observation_features=features).unwrapped)


def test_sb3_check_env_passes_without_warnings():
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(ENV_ID, world="default").unwrapped, warn=True)


def test_registered_ids_and_module_prefix():
    env = gym.make(ENV_ID, world="as2008")
    assert env.unwrapped.world == make_world("as2008")
    env = gym.make("envs:mm_inventory/MarketMaking-v0", world="toxic", sigma=1.0)
    assert env.unwrapped.world.sigma == 1.0 and env.unwrapped.world.adverse_jump > 0
    vector = gym.make_vec(ENV_ID, num_envs=3, world="as2008")
    assert isinstance(vector.unwrapped, MarketMakingVectorEnv) and vector.num_envs == 3


def test_made_env_refuses_a_step_before_reset_itself():
    env = gym.make(ENV_ID, world="default")  # registered without Gymnasium's order-enforcing wrapper
    with pytest.raises(RuntimeError, match=r"not started; call reset\(\)"):
        env.step(np.zeros(2, np.float32))
    env.reset(seed=0)
    assert np.isfinite(env.step(np.zeros(2, np.float32))[1])


def test_spaces_and_bounds():
    env = MarketMakingEnv(world="default", observation_features=("last_fills",))
    assert env.action_space == gym.spaces.Box(-1, 1, (2,), np.float32)
    assert env.observation_space.shape == (5,) and np.isfinite(env.observation_space.high).all()
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[:3], [0.0, 1.0, 1.0])


def test_close_is_termination_not_truncation():
    env = MarketMakingEnv(world="default", horizon=0.02)
    env.reset(seed=0)
    flags = [env.step(np.zeros(2, np.float32))[2:4] for _ in range(4)]
    assert flags == [(False, False)] * 3 + [(True, False)]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.float32))


def test_nan_and_inf_actions_raise_and_large_actions_clip():
    env = MarketMakingEnv(world="default")
    env.reset(seed=0)
    for bad in ([np.nan, 0.0], [0.0, np.inf]):
        with pytest.raises(ValueError, match="finite"):
            env.step(np.array(bad, np.float32))
    _, _, _, _, info = env.step(np.array([-7.0, 0.0], np.float32))
    assert info["bid_offset"] == env.world.offset_range[0] and info["bid_quoted"]
    _, _, _, _, info = env.step(np.array([3.0, 0.0], np.float32))
    assert not info["bid_quoted"] and info["bid_fills"] == 0


PARITY_WORLDS = {
    "regimes": ("regimes", {"initial_inventory": (-2, 2), "fee": 0.01}),
    "hedged_binomial": ("hedged", {"mid_process": "binomial", "hedge_ticket_fee": 0.01, "initial_inventory": (-3, 3)}),
    "as2008_features": (
        "as2008",
        {"horizon": 0.2, "adverse_jump": 0.1, "observation_features": ("mid_return", "last_fills", "fill_imbalance")},
    ),
}


@pytest.mark.parametrize("name", sorted(PARITY_WORLDS))
def test_single_env_equals_a_column_of_the_vector_env(name):
    # The single env runs one unbatched market (numpy scalars), the vector env a batch: the same numbers, integers
    # exactly and floats to within a relative 1e-12 (float32 observations: 1e-6) (numpy's scalar and vectorized exp may differ in the last bit on some
    # CPUs; on this project's machines they agree bit for bit).
    preset, overrides = PARITY_WORLDS[name]
    world = make_world(preset, **overrides)
    n, seed = 4, 10
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.2, 1.05, size=(2 * world.n_steps + 3, n, len(world.action_names))).astype(np.float32)
    vector = MarketMakingVectorEnv(n, world=world, autoreset_mode="SAME_STEP")
    vector_obs = [vector.reset(seed=seed)[0]]
    vector_rewards, vector_infos = [], []
    for a in actions:
        obs, reward, _, _, info = vector.step(a)
        vector_obs.append(obs)
        vector_rewards.append(reward)
        vector_infos.append(info)
    for column in (0, 3):
        env = MarketMakingEnv(world=world)
        obs, _ = env.reset(seed=seed + column)
        observations, rewards = [obs], []
        for a, vector_info in zip(actions, vector_infos, strict=True):
            obs, reward, terminated, _, info = env.step(a[column])
            assert type(reward) is float and type(terminated) is bool
            assert info.keys() <= vector_info.keys()
            for key, value in info.items():
                assert type(value) in (float, int, bool), key
                if type(value) is float:
                    np.testing.assert_allclose(value, vector_info[key][column], rtol=1e-12, atol=1e-12, err_msg=key)
                else:
                    assert value == vector_info[key][column], key
            if terminated:
                obs, _ = env.reset()
            observations.append(obs)
            rewards.append(reward)
        np.testing.assert_allclose(np.array(observations), np.array(vector_obs)[:, column], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.array(rewards), np.array(vector_rewards)[:, column], rtol=1e-12, atol=1e-12)


def test_an_unbatched_market_batch_holds_numpy_scalars_and_refuses_autoreset():
    world = make_world("default")
    batch = envs.MarketBatch(world, None, autoreset=False)
    observation = batch.reset(seed=3)
    assert observation.shape == (len(world.observation_names),) and batch.shape == ()
    result = batch.step(np.zeros(2))
    # Per-book values are numpy scalars; per-asset ones short rows (one asset: one entry).
    assert isinstance(batch.state.cash, np.float64) and isinstance(result.reward, np.float64)
    assert batch.state.inventory.shape == (1,) and isinstance(result.info["inventory"], np.int64)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        batch.step(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="autoreset"):
        envs.MarketBatch(world, None)


def tiny_world():
    # Three steps, no fills and a still mid: every observation is known by hand (the last, close_proximity,
    # is 1 / steps left, and 1 at the close).
    return make_world(
        "default", horizon=0.015, arrival_intensity=0.0, sigma=0.0, initial_inventory=2, inventory_scale=10
    )


def test_vector_env_same_step_autoreset_by_hand():
    env = MarketMakingVectorEnv(2, world=tiny_world(), autoreset_mode=AutoresetMode.SAME_STEP)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, [[0.2, 1.0, 0.0, 1 / 3]] * 2)
    expected_time = [2 / 3, 1 / 3]
    for t in expected_time:
        obs, reward, terminated, truncated, info = env.step(np.zeros((2, 2)))
        np.testing.assert_allclose(obs[:, 1], t, rtol=1e-6)
        assert not terminated.any() and "final_obs" not in info
    obs, reward, terminated, truncated, info = env.step(np.zeros((2, 2)))
    np.testing.assert_array_equal(terminated, [True, True])
    np.testing.assert_array_equal(truncated, [False, False])
    np.testing.assert_allclose(info["final_obs"], [[0.2, 0.0, 0.0, 1.0]] * 2)
    np.testing.assert_allclose(obs, [[0.2, 1.0, 0.0, 1 / 3]] * 2)
    world = tiny_world()
    per_step = world.running_penalty * world.dt * 4
    np.testing.assert_allclose(reward, -(per_step + world.terminal_penalty * 4))
    np.testing.assert_allclose(info["final_info"]["episode"]["r"], -(3 * per_step + world.terminal_penalty * 4))
    np.testing.assert_array_equal(info["final_info"]["episode"]["l"], [3, 3])


def test_vector_env_next_step_autoreset_by_hand():
    """Gymnasium's default: the closing step returns the closing observation; the next step ignores the action,
    opens the session, pays nothing and does not terminate; the session then runs as before."""
    env = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", world=tiny_world())
    assert env.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, [[0.2, 1.0, 0.0, 1 / 3]] * 2)
    world = tiny_world()
    per_step = world.running_penalty * world.dt * 4
    for _ in range(2):
        obs, reward, terminated, _, info = env.step(np.zeros((2, 2)))
        assert not terminated.any()
    obs, reward, terminated, truncated, info = env.step(np.zeros((2, 2)))
    np.testing.assert_array_equal(terminated, [True, True])
    np.testing.assert_allclose(obs, [[0.2, 0.0, 0.0, 1.0]] * 2)  # the closing observation
    assert "final_obs" not in info
    np.testing.assert_allclose(info["final_info"]["episode"]["r"], -(3 * per_step + world.terminal_penalty * 4))
    obs, reward, terminated, truncated, info = env.step(np.full((2, 2), -1.0))  # ignored: the session opens
    np.testing.assert_allclose(obs, [[0.2, 1.0, 0.0, 1 / 3]] * 2)
    np.testing.assert_array_equal(reward, [0.0, 0.0])
    assert not terminated.any() and not truncated.any() and "final_info" not in info
    np.testing.assert_array_equal(info["inventory"], [0, 0])
    assert info["bid_quoted"].dtype == bool and not info["bid_quoted"].any()  # zeros of each entry's own type
    obs, reward, terminated, _, info = env.step(np.zeros((2, 2)))
    np.testing.assert_allclose(obs[:, 1], 2 / 3, rtol=1e-6)
    np.testing.assert_allclose(reward, -per_step)


def test_gymnasiums_vector_wrappers_compose_with_the_native_vector_env():
    """make_vec's autoreset_mode is the env's, not a world field; NormalizeObservation, NormalizeReward and
    RecordEpisodeStatistics accept the default next-step mode, and the statistics match the env's own."""
    from gymnasium.wrappers.vector import NormalizeObservation, NormalizeReward, RecordEpisodeStatistics

    world = make_world("default", horizon=0.05)  # 10 steps
    env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", world=world)
    env = RecordEpisodeStatistics(NormalizeReward(NormalizeObservation(env)))
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    episodes = []
    for _ in range(2 * (world.n_steps + 1)):
        _, _, _, _, info = env.step(rng.uniform(-1, 1, size=(3, 2)).astype(np.float32))
        if "episode" in info:
            episodes.append(info["episode"]["l"][info["_episode"]])
            own = info["final_info"]["episode"]["l"][info["final_info"]["_episode"]]
            np.testing.assert_array_equal(episodes[-1], own)
    assert [e.tolist() for e in episodes] == [[10, 10, 10]] * 2
    same_step = gym.make_vec(
        ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", world=world, autoreset_mode="SAME_STEP"
    )
    assert same_step.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    with pytest.raises(
        ValueError, match="Expected autoreset_mode to be NEXT_STEP or DISABLED, got AutoresetMode.SAME_STEP"
    ):
        NormalizeObservation(same_step)
    with pytest.raises(ValueError, match=r"autoreset_mode must be one of \['NEXT_STEP', 'SAME_STEP'\]"):
        MarketMakingVectorEnv(2, world=world, autoreset_mode="Disabled")


def test_sb3_vec_env_same_step_autoreset_by_hand():
    from envs import MarketMakingVecEnv

    env = MarketMakingVecEnv(2, world=tiny_world())
    env.seed(0)
    np.testing.assert_allclose(env.reset(), [[0.2, 1.0, 0.0, 1 / 3]] * 2)
    for _ in range(2):
        _, _, dones, infos = env.step(np.zeros((2, 2)))
        assert not dones.any() and "terminal_observation" not in infos[0]
    obs, rewards, dones, infos = env.step(np.zeros((2, 2)))
    assert dones.tolist() == [True, True] and rewards.dtype == np.float32
    np.testing.assert_allclose(infos[1]["terminal_observation"], [0.2, 0.0, 0.0, 1.0])
    assert infos[0]["TimeLimit.truncated"] is False and infos[0]["episode"]["l"] == 3
    np.testing.assert_allclose(obs, [[0.2, 1.0, 0.0, 1 / 3]] * 2)
    assert set(infos[0]) >= {"spread_captured", "inventory_pnl", "penalty", "fees", "bid_fills", "ask_fills"}


def test_sb3_vec_env_api_lists_and_wrappers():
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from envs import MarketMakingVecEnv

    env = MarketMakingVecEnv(4, world="default")
    assert env.get_attr("render_mode") == [None] * 4
    assert env.get_attr("world", indices=[1, 2]) == [env.world] * 2
    assert env.env_is_wrapped(gym.Wrapper) == [False] * 4
    assert len(env.env_method("seed", 3)) == 4
    wrapped = VecNormalize(VecMonitor(env), norm_reward=True)

    class Fixed:
        def predict(self, obs, state=None, episode_start=None, deterministic=True):
            return np.full((len(obs), 2), -1 / 3, dtype=np.float32), None

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, std = evaluate_policy(Fixed(), wrapped, n_eval_episodes=8)
    assert np.isfinite(mean) and std >= 0


def test_sb3_seed_gives_identical_rollouts():
    from envs import MarketMakingVecEnv

    def rollout():
        env = MarketMakingVecEnv(3, world="toxic")
        env.seed(42)
        env.reset()
        return np.array([env.step(np.zeros((3, 2)))[1] for _ in range(50)])

    assert np.array_equal(rollout(), rollout())


def test_lazy_sb3_export():
    assert envs.MarketMakingVecEnv.__name__ == "MarketMakingVecEnv"
    with pytest.raises(AttributeError):
        envs.NoSuchThing  # noqa: B018
