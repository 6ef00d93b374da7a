"""Off-policy reward learning: relabelled replay, absorbing states, SAC/soft-DQN learners, DAC GAIL/AIRL."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import BasicRewardNet
from stable_baselines3.common.vec_env import DummyVecEnv

from conftest import run_cli
from irlkit.algos import AdversarialConfig, DQNConfig, SACConfig
from irlkit.algos.discriminator import reward_fn_of
from irlkit.algos.learners import SoftDQN, entropy_temperature, make_learner, policy_log_prob, resolve_learner
from irlkit.algos.relabel import AbsorbingStates, DemoMixReplayBuffer, RelabelingReplayBuffer, TransitionBatch
from irlkit.envs import load_env_config
from irlkit.errors import IrlkitError
from irlkit.runconfig import RunConfig
from irlkit.train import run_training

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _venv(env_id: str, **kwargs) -> DummyVecEnv:
    return DummyVecEnv([lambda: gym.make(env_id, **kwargs)])


def _filled(model, steps: int):
    model.learn(total_timesteps=steps)  # learning_starts > steps: random actions, buffer only
    return model.replay_buffer


# ---- relabelling ---------------------------------------------------------------------------------


def test_sampled_rewards_follow_the_current_reward_net() -> None:
    model = make_learner(
        "sac", SACConfig(learning_starts=10_000, net_arch=[8]), _venv("Pendulum-v1"), seed=0, budget=10_000
    )
    buffer = _filled(model, 300)
    assert isinstance(buffer, RelabelingReplayBuffer)
    net = BasicRewardNet(model.observation_space, model.action_space, hid_sizes=(16,))
    net.eval()
    buffer.reward_fn = reward_fn_of(net)
    rows = np.array([3, 50, 120, 299])
    before = buffer.samples_at(rows)
    stored = buffer.transitions_at(rows)
    expected = net.predict(stored.obs, stored.acts, stored.next_obs, stored.dones)
    np.testing.assert_allclose(before.rewards.numpy().reshape(-1), expected, rtol=1e-5, atol=1e-6)
    with th.no_grad():  # change the reward net: the same rows now carry the new reward
        net.mlp.dense_final.bias += 1.5
    after = buffer.samples_at(rows)
    np.testing.assert_allclose(after.observations.numpy(), before.observations.numpy())
    np.testing.assert_allclose(after.rewards.numpy() - before.rewards.numpy(), 1.5, rtol=1e-5)
    # ... and what SB3's training loop samples is relabelled too (never the env's stored reward)
    batch = buffer.sample(64)
    env_rewards = buffer.rewards[: buffer.pos, 0]
    assert not np.isin(batch.rewards.numpy().reshape(-1), env_rewards).any()


def test_reward_fn_sees_box_actions_in_env_units() -> None:
    model = make_learner(
        "sac", SACConfig(learning_starts=10_000, net_arch=[8]), _venv("Pendulum-v1"), seed=0, budget=10_000
    )
    buffer = _filled(model, 200)
    seen: list[np.ndarray] = []
    buffer.reward_fn = lambda o, a, n, d: seen.append(a) or np.zeros(len(o))
    buffer.samples_at(np.arange(200))
    acts = seen[0]
    assert acts.shape == (200, 1)
    assert np.abs(buffer.actions[:200, 0]).max() <= 1.0  # SB3 stores them scaled to [-1, 1]
    assert acts.min() < -1.05 and acts.max() > 1.05 and np.abs(acts).max() <= 2.0  # Pendulum's torque is [-2, 2]


def test_dones_are_terminations_not_time_limits() -> None:
    model = make_learner(
        "dqn",
        DQNConfig(learning_starts=10_000, net_arch=[8]),
        _venv("CartPole-v1", max_episode_steps=12),
        seed=0,
        budget=10_000,
    )
    buffer = _filled(model, 600)
    batch = buffer.transitions_at(buffer.valid_rows())
    ends = np.flatnonzero(buffer.dones[:600, 0])
    terminated = buffer.dones[:600, 0] * (1 - buffer.timeouts[:600, 0])
    assert 0 < terminated.sum() < len(ends), "need both terminations and time-limit truncations"
    np.testing.assert_array_equal(batch.dones, terminated)
    assert batch.acts.dtype == np.int64 and batch.acts.shape == (600,)


# ---- absorbing states ----------------------------------------------------------------------------


def _terminating_episode() -> TransitionBatch:
    """Three steps of an episode that terminates (CartPole-v1 ends when the pole falls)."""
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=3)
    rows = []
    for _ in range(500):
        nxt, _, terminated, truncated, _ = env.step(0)  # always push left: falls within ~10 steps
        rows.append((obs, 0, nxt, float(terminated)))
        obs = nxt
        if terminated or truncated:
            break
    assert rows[-1][3] == 1.0
    rows = rows[-3:]
    return TransitionBatch(
        *(np.asarray([r[k] for r in rows], dtype=np.float32 if k != 1 else np.int64) for k in range(4))
    )


def test_absorbing_state_after_an_early_termination() -> None:
    env = gym.make("CartPole-v1")
    absorbing = AbsorbingStates(env.observation_space, env.action_space, gamma=0.9)
    episode = _terminating_episode()
    expanded, loops = absorbing.expand(episode)
    assert absorbing.space.shape == (5,)
    assert len(expanded.obs) == 4 and loops.tolist() == [False, False, False, True]
    np.testing.assert_array_equal(expanded.obs[:3, :4], episode.obs)
    assert (expanded.obs[:3, 4] == 0).all()
    np.testing.assert_array_equal(expanded.next_obs[:2, :4], episode.next_obs[:2])  # ordinary steps keep s'
    np.testing.assert_array_equal(expanded.next_obs[2], [0, 0, 0, 0, 1])  # the last goes to s_abs
    np.testing.assert_array_equal(expanded.obs[3], [0, 0, 0, 0, 1])  # ... which loops on itself
    np.testing.assert_array_equal(expanded.next_obs[3], [0, 0, 0, 0, 1])
    assert (expanded.dones == 0).all(), "no transition of the expanded MDP ends it"

    # the learner's reward: the terminal row carries the absorbing state's whole future value
    def padded(o, a, n, d):
        return 10.0 * o[:, -1] + n[:, -1]  # 11 on the self-loop, 1 on s -> s_abs, 0 elsewhere

    r = absorbing.learner_reward_fn(padded)(episode.obs, episode.acts, episode.next_obs, episode.dones)
    np.testing.assert_allclose(r, [0.0, 0.0, 1.0 + 0.9 / (1 - 0.9) * 11.0])


def test_sqil_batches_are_half_demos_with_their_own_rewards() -> None:
    model = make_learner(
        "dqn",
        DQNConfig(learning_starts=10_000, net_arch=[8], gamma=0.9),
        _venv("CartPole-v1"),
        seed=0,
        budget=10_000,
        replay_buffer_class=DemoMixReplayBuffer,
        replay_buffer_kwargs={"demo_fraction": 0.5},
    )
    buffer = _filled(model, 100)
    absorbing = AbsorbingStates(model.observation_space, model.action_space, 0.9)
    episode = _terminating_episode()
    buffer.set_demos(episode)
    buffer.reward_fn = absorbing.learner_reward_fn(lambda o, a, n, d: np.zeros(len(o)))
    buffer.demo_reward_fn = absorbing.learner_reward_fn(lambda o, a, n, d: np.ones(len(o)))
    batch = buffer.sample(64)
    rewards, dones = batch.rewards.numpy().reshape(-1), batch.dones.numpy().reshape(-1)
    assert len(rewards) == 64
    assert (rewards[:32] == 0).all()
    demo_r, demo_d = rewards[32:], dones[32:]
    np.testing.assert_allclose(demo_r[demo_d == 0], 1.0)
    np.testing.assert_allclose(demo_r[demo_d == 1], 1.0 / (1 - 0.9), rtol=1e-5)  # 1 + 0.9 / 0.1 * 1
    assert set(np.unique(batch.observations.numpy()[32:, 0])) <= set(episode.obs[:, 0])


# ---- learners ------------------------------------------------------------------------------------


def test_auto_learner_per_action_space_and_clear_refusals() -> None:
    box, discrete = spaces.Box(-1, 1, (2,)), spaces.Discrete(3)
    assert resolve_learner("auto", box, algo="gail") == "sac"
    assert resolve_learner("auto", discrete, algo="gail") == "dqn"
    with pytest.raises(IrlkitError, match="algo.learner=dqn needs Discrete actions.*use algo.learner=sac"):
        resolve_learner("dqn", box, algo="gail")
    with pytest.raises(IrlkitError, match="algo.learner=sac needs Box"):
        resolve_learner("sac", discrete, algo="sqil", allowed=("sac", "dqn"))
    with pytest.raises(IrlkitError, match="choose one of auto, sac, dqn$"):
        resolve_learner("ppo", discrete, algo="sqil", allowed=("sac", "dqn"))


def test_soft_dqn_policy_is_the_boltzmann_policy_of_its_q_values() -> None:
    model = make_learner("dqn", DQNConfig(ent_coef="0.5", net_arch=[8]), _venv("CartPole-v1"), seed=0, budget=1000)
    assert isinstance(model, SoftDQN)
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    logp = th.stack([policy_log_prob(model, obs, np.full(5, a)) for a in range(2)], dim=1)
    np.testing.assert_allclose(logp.exp().sum(dim=1).numpy(), 1.0, rtol=1e-5)
    q = model.q_net(th.as_tensor(obs)).detach()
    np.testing.assert_allclose(logp.numpy(), th.log_softmax(q / 0.5, dim=1).numpy(), rtol=1e-5, atol=1e-6)
    greedy, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(greedy, q.argmax(dim=1).numpy())
    samples = np.stack([model.predict(obs[:1], deterministic=False)[0][0] for _ in range(400)])
    p1 = float(logp[0, 1].exp())
    assert abs(samples.mean() - p1) < 0.1  # exploration samples the same policy


@pytest.mark.slow
def test_soft_dqn_learns_its_temperature_towards_the_target_entropy() -> None:
    import torch.nn.functional as F

    cfg = DQNConfig(ent_coef="auto", target_entropy=0.3, learning_starts=200, net_arch=[16])
    model = make_learner("dqn", cfg, _venv("CartPole-v1"), seed=0, budget=3000)
    assert model.alpha == pytest.approx(1.0)

    def entropy() -> float:
        obs = th.as_tensor(model.replay_buffer.sample_transitions(500).obs)
        with th.no_grad():
            log_pi = F.log_softmax(model.q_net(obs) / model.alpha, dim=1)
        return float(-(log_pi.exp() * log_pi).sum(dim=1).mean())

    model.learn(1000)
    early = entropy()
    model.learn(2000, reset_num_timesteps=False)
    assert model.alpha < 0.15  # the near-uniform policy was above the target: alpha came down ...
    assert entropy() < early - 0.1 and early > 0.3 * np.log(2)  # ... and the entropy with it


def test_sac_log_prob_matches_sampled_actions() -> None:
    model = make_learner("sac", SACConfig(net_arch=[8]), _venv("Pendulum-v1"), seed=0, budget=1000)
    obs = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    with th.no_grad():
        scaled, logp = model.actor.action_log_prob(th.as_tensor(obs))
    acts = model.policy.unscale_action(scaled.numpy())
    np.testing.assert_allclose(policy_log_prob(model, obs, acts).numpy(), logp.numpy(), rtol=1e-3, atol=1e-3)


def test_entropy_temperature_is_each_learners_alpha_now() -> None:
    sac = make_learner("sac", SACConfig(net_arch=[8]), _venv("Pendulum-v1"), seed=0, budget=1000)
    assert sac.log_ent_coef is not None  # SB3's default ent_coef "auto": learned from 1.0
    with th.no_grad():
        sac.log_ent_coef.fill_(np.log(0.03))
    assert entropy_temperature(sac) == pytest.approx(0.03)
    fixed = make_learner("sac", SACConfig(net_arch=[8], ent_coef="0.2"), _venv("Pendulum-v1"), seed=0, budget=1000)
    assert entropy_temperature(fixed) == pytest.approx(0.2)
    dqn = make_learner("dqn", DQNConfig(ent_coef="0.5", net_arch=[8]), _venv("CartPole-v1"), seed=0, budget=1000)
    assert entropy_temperature(dqn) == pytest.approx(0.5)


def test_airl_log_pi_floor_bounds_the_policy_term_only_when_set() -> None:
    from types import SimpleNamespace

    from irlkit.algos.dac import DACTrainer

    dqn = make_learner("dqn", DQNConfig(ent_coef="0.5", net_arch=[8]), _venv("CartPole-v1"), seed=0, budget=1000)
    obs = np.stack([dqn.observation_space.sample() for _ in range(16)])
    acts = np.arange(16) % 2
    log_pi = policy_log_prob(dqn, obs, acts)
    floor = float(log_pi.max()) + 0.05  # above every log pi here: the floor binds on each row
    unbounded = DACTrainer._weighted_log_prob(SimpleNamespace(_cfg=AdversarialConfig(), rl=dqn), obs, acts)
    assert th.allclose(unbounded, 0.5 * log_pi)  # the default: no floor, weighted by the temperature
    cfg = AdversarialConfig(log_pi_floor=floor, log_pi_weight=2.0)
    bounded = DACTrainer._weighted_log_prob(SimpleNamespace(_cfg=cfg, rl=dqn), obs, acts)
    assert th.allclose(bounded, th.full_like(bounded, 2.0 * floor))


# ---- whole runs ----------------------------------------------------------------------------------


def _run(algo: str, env: str, cfg, tmp_path: Path, **kwargs) -> dict:
    from irlkit.evaluate import EvalConfig

    env_cfg = load_env_config(env)
    return run_training(
        RunConfig(algo=cfg, env=env_cfg, seed=0, eval=EvalConfig(episodes=2, curve_points=0), progress=False, **kwargs),
        tmp_path,
    )


TINY_SAC = SACConfig(learning_starts=200, batch_size=32, net_arch=[16, 16])
TINY_DQN = DQNConfig(learning_starts=200, batch_size=32, net_arch=[16, 16])


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["gail", "airl"])
@pytest.mark.parametrize("env,learner", [("cartpole", "dqn"), ("mountain_car_continuous", "sac")])
def test_off_policy_gail_and_airl_run_and_spend_the_budget_exactly(
    algo: str, env: str, learner: str, tmp_path: Path
) -> None:
    cfg = AdversarialConfig(name=algo, budget=1237, round_steps=300, demo_batch_size=64, sac=TINY_SAC, dqn=TINY_DQN)
    result = _run(algo, env, cfg, tmp_path)
    assert result["env_steps"] == 1237 and result["learner"] == learner and result["disc_rounds"] == 4
    assert result["reward_pearson"] is not None
    meta = json.loads((tmp_path / "policy.json").read_text())
    assert meta["sb3_class"] == {"dqn": "DQN", "sac": "SAC"}[learner]
    import stable_baselines3 as sb3

    policy = getattr(sb3, meta["sb3_class"]).load(tmp_path / "policy.zip", device="cpu").policy  # plain SB3 opens it
    obs = gym.make(load_env_config(env).id).observation_space.sample()
    policy.predict(obs, deterministic=True)


@pytest.mark.slow
def test_a_saved_off_policy_airl_run_is_rescored_with_its_reward(tmp_path: Path) -> None:

    from irlkit.evaluate.__main__ import evaluate_run

    cfg = AdversarialConfig(name="airl", budget=600, round_steps=300, demo_batch_size=64, sac=TINY_SAC, dqn=TINY_DQN)
    first = _run("airl", "mountain_car_continuous", cfg, tmp_path)
    again = evaluate_run(tmp_path, None, False, None)
    assert again["reward_pearson"] == pytest.approx(first["reward_pearson"], abs=1e-6)
    assert again["return_mean"] == pytest.approx(first["return_mean"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,expected",
    [
        (["algo=gail", "env=pendulum", "algo.learner=dqn"], "algo.learner=dqn needs Discrete actions"),
        (["algo=sqil", "env=cartpole", "demos=pendulum_expert"], "has observation space"),
        (["algo=sqil", "algo.budget=500"], "ends before sqil's DQN learner makes its first update"),
        (
            ["algo=airl", "algo.budget=90", "algo.dqn.learning_starts=10"],
            "ends before airl's first discriminator round",
        ),
        (
            ["algo=gail", "algo.learner=ppo", "algo.budget=1000"],
            "smaller than one round of gail with the PPO generator",
        ),
        (["algo=sqil", "algo.select_policy.points=-5"], "algo.select_policy needs 0 <= points <= algo.budget"),
        (["algo=gail", "algo.learner=ppo", "algo.select_policy.points=10"], "for off-policy learners only"),
    ],
)
def test_bad_off_policy_input_is_one_paragraph_and_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit", *args, f"hydra.run.dir={tmp_path}", "progress=false"])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("python -m irlkit: error")]
    assert len(error_lines) == 1


@pytest.mark.slow
def test_python_api_and_command_line_give_the_same_run(tmp_path: Path) -> None:
    """The dataclass defaults are what `python -m irlkit` uses: same config, same seed, same numbers."""
    from irlkit.evaluate import EvalConfig

    overrides = {"budget": 1500, "round_steps": 500}
    proc = run_cli(
        [
            "-m",
            "irlkit",
            "algo=gail",
            "seed=0",
            "progress=false",
            "eval.episodes=3",
            "eval.curve_points=0",
            *[f"algo.{k}={v}" for k, v in overrides.items()],
            f"hydra.run.dir={tmp_path / 'cli'}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    cli = json.loads((tmp_path / "cli" / "eval.json").read_text())
    api = run_training(
        RunConfig(
            algo=AdversarialConfig(name="gail", **overrides),
            seed=0,
            eval=EvalConfig(episodes=3, curve_points=0),
            progress=False,
        ),
        tmp_path / "api",
    )
    assert cli["learner"] == api["learner"] == "dqn"
    assert cli["returns"] == api["returns"]
    assert cli["reward_pearson"] == pytest.approx(api["reward_pearson"], abs=1e-9)
