"""Human corrections (HG-DAgger) through the real window loop, the store and the command line.

Events are posted from the session's `on_frame` hook, which runs at the start of every frame before
the frame's events are read, as in the recorder's tests: a key pressed when the episode is at step s
drives step s. The learner is a real (untrained or briefly trained) BC policy, the scripted person a
real SB3 expert: nothing is stubbed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from irlkit.algos.bc_ensemble import BCLearner  # noqa: E402
from irlkit.corrections.scripted import ScriptedPerson  # noqa: E402
from irlkit.corrections.session import CorrectionSession, SessionConfig  # noqa: E402
from irlkit.corrections.stores import PERSON, correction_stats, labelled_transitions  # noqa: E402
from irlkit.envs import load_env_config, make_env  # noqa: E402
from irlkit.errors import IrlkitError  # noqa: E402
from irlkit.store import DemoStore  # noqa: E402
from irlkit.teleop import GamepadInput, KeyboardInput, RecorderState, Status, parse_keymap  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FPS = 200.0  # the real fixed-rate loop, sleeping between frames, just faster than a person's 50


def cartpole(steps: int = 40):
    return dataclasses.replace(load_env_config("cartpole"), max_episode_steps=steps)


def spaces_of(env_cfg):
    env = make_env(env_cfg)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def learner_for(env_cfg, members: int = 1) -> BCLearner:
    obs_space, act_space = spaces_of(env_cfg)
    return BCLearner(obs_space, act_space, rng=np.random.default_rng(0), members=members)


def post_key(kind: int, key: int) -> None:
    pygame.event.post(pygame.event.Event(kind, key=key))


def session(tmp_path: Path, env_cfg, person, learner, hook: Callable[[Status], None], **changes: Any):
    cfg = SessionConfig(
        env=env_cfg, dataset="corr", operator="op-7", fps=FPS, store_root=str(tmp_path / "store"), seed=0, **changes
    )
    return CorrectionSession(cfg, person=person, learner=learner, on_frame=hook)


def stored(tmp_path: Path):
    return DemoStore(tmp_path / "store").open("corr")


def test_take_over_by_holding_a_key_and_hand_back_by_releasing_it(tmp_path):
    env_cfg = cartpole(40)
    keymap = parse_keymap(env_cfg.teleop, spaces_of(env_cfg)[1], env_name="cartpole")
    person = KeyboardInput(keymap, fps=FPS)
    learner = learner_for(env_cfg)
    huds: dict[int, str] = {}
    plan = {
        (0, pygame.K_SPACE): "start",
        (10, pygame.K_RIGHT): "down",
        (20, pygame.K_RIGHT): "up",
        (30, pygame.K_LEFT): "down",
        (35, pygame.K_LEFT): "up",
    }

    def hook(status: Status) -> None:
        if status.state is RecorderState.WAITING:
            post_key(pygame.KEYDOWN, pygame.K_SPACE)
            return
        huds[status.step] = sess.hud[0] if sess.hud else ""
        for (step, key), what in plan.items():
            if step == status.step and what != "start" and (step, key, what) not in done:
                post_key(pygame.KEYDOWN if what == "down" else pygame.KEYUP, key)
                done.add((step, key, what))

    done: set = set()
    sess = session(tmp_path, env_cfg, person, learner, hook)
    try:
        result = sess.run_round(0, min_steps=40)
    finally:
        sess.close()

    assert result.steps == 40 and result.labels == 15 and result.stopped_by is None
    ep = stored(tmp_path).episode(0)
    assert ep.meta.source == "correction" and ep.meta.operator == "op-7" and ep.meta.device == "keyboard"
    actors = [i["actor"] for i in ep.infos]
    person_steps = [t for t, a in enumerate(actors) if a == PERSON]
    assert person_steps == list(range(10, 20)) + list(range(30, 35))
    for t, info in enumerate(ep.infos):
        # the learner's proposal is stored whoever drove, and it is the learner's own action
        proposed, _ = learner.policy.predict(ep.obs[t], deterministic=True)
        assert info["proposed"] == int(proposed)
        if info["actor"] == PERSON:
            assert info["given"] == int(ep.acts[t]) == (1 if t < 20 else 0)
        else:
            assert info["given"] is None and int(ep.acts[t]) == info["proposed"]
    # the HUD said who drove (drawn after the step the key took over)
    assert huds[12].startswith("YOU DRIVE") and huds[25].startswith("LEARNER DRIVES")
    obs, acts, next_obs, _ = labelled_transitions(stored(tmp_path), operator="op-7")
    assert len(acts) == 15 and np.array_equal(obs, ep.obs[person_steps]) and np.array_equal(next_obs[0], ep.obs[11])
    assert len(labelled_transitions(stored(tmp_path), operator="someone-else")[1]) == 0


def test_an_unsure_learner_pauses_and_asks_the_person_can_decline_or_take_over(tmp_path):
    env_cfg = cartpole(40)
    keymap = parse_keymap(env_cfg.teleop, spaces_of(env_cfg)[1], env_name="cartpole")
    person = KeyboardInput(keymap, fps=FPS)
    learner = learner_for(env_cfg, members=3)  # untrained: unsure everywhere
    frames_paused_at: dict[int, int] = {}
    events: list[str] = []

    def hook(status: Status) -> None:
        if status.state is RecorderState.WAITING and not events:
            post_key(pygame.KEYDOWN, pygame.K_SPACE)
            events.append("start")
            return
        if status.state is RecorderState.PAUSED:  # asking: the env does not step until answered
            frames_paused_at[status.step] = frames_paused_at.get(status.step, 0) + 1
            assert sess.hud[0].startswith("ASKING") or frames_paused_at[status.step] == 1
            if status.step == 0 and frames_paused_at[0] == 5:
                post_key(pygame.KEYDOWN, pygame.K_SPACE)  # decline: the learner goes on
                events.append("declined")
            elif status.step > 0 and frames_paused_at[status.step] == 3 and "took over" not in events:
                post_key(pygame.KEYDOWN, pygame.K_RIGHT)  # answer by driving
                events.append("took over")
        if "took over" in events and status.step == frames_after_takeover() and "released" not in events:
            post_key(pygame.KEYUP, pygame.K_RIGHT)
            events.append("released")
        if "released" in events and status.state is RecorderState.PAUSED and "quit" not in events:
            post_key(pygame.KEYDOWN, pygame.K_ESCAPE)  # asked again: quit, keeping what was labelled
            events.append("quit")

    asked_again_at: list[int] = []

    def frames_after_takeover() -> int:
        if not asked_again_at:
            asked_again_at.append(max(frames_paused_at) + 4)
        return asked_again_at[0]

    sess = session(
        tmp_path, env_cfg, person, learner, hook, query="uncertain", threshold=0.1, decline_cooldown_s=5 / FPS
    )
    try:
        result = sess.run_round(0, min_steps=40)
    finally:
        sess.close()

    assert events == ["start", "declined", "took over", "released", "quit"]
    assert result.stopped_by == "quit"
    ep = stored(tmp_path).episode(0)
    assert ep.meta.extra["ended_by"] == "quit" and ep.truncated and not ep.terminated
    infos = ep.infos
    # step 0: asked and declined, the learner drove; then 5 steps of cool-down without questions
    assert infos[0]["asked"] and infos[0]["actor"] == "learner" and infos[0]["approved"]  # "go on" approves
    assert not any(i["approved"] for i in infos[1:]) and result.approved == 1
    assert [i["asked"] for i in infos[1:6]] == [False] * 5
    # step 6: asked again (paused 3 frames), answered by taking over; person drove until release
    assert frames_paused_at[0] >= 5 and frames_paused_at[6] >= 3
    took = [t for t, i in enumerate(infos) if i["actor"] == PERSON]
    assert took == list(range(6, asked_again_at[0])) and all(infos[t]["asked"] for t in took)
    assert all(i["uncertainty"] == 1.0 for i in infos)
    assert result.asked == sum(i["asked"] for i in infos) and result.labels == len(took) == len(ep) - 6
    # the approved step is learned from too (learn_from_approvals), as the learner's own action
    assert len(result.acts) == len(took) + 1 and np.array_equal(result.obs[0], ep.obs[0])
    assert int(result.acts[0]) == infos[0]["proposed"]


def test_the_learner_is_unsure_far_from_its_labels_even_when_its_members_agree():
    env_cfg = cartpole(40)
    learner = learner_for(env_cfg, members=3)
    rng = np.random.default_rng(0)
    obs = rng.normal(0.0, 0.05, size=(24, 4)).astype(np.float32)  # a few labels near upright ...
    acts = (obs[:, 2] + obs[:, 3] > 0).astype(np.int64)  # ... push the way the pole leans
    learner.fit(obs, acts, obs, np.zeros(24, dtype=bool), epochs=1, min_batches=0, member_min_batches=200)
    near, far = learner.propose(obs[3]), learner.propose(np.array([0.0, 0.0, 0.6, 0.0], dtype=np.float32))
    assert near.novelty == pytest.approx(0.0, abs=1e-6) and far.novelty > 2.0  # far: ~12 std away in one dimension
    # the doubt-only members were trained though the driving policy got one batch: they learned the rule
    for trainer in learner.trainers[1:]:
        assert trainer.policy.predict(np.array([0, 0, 0.1, 0.1], dtype=np.float32), deterministic=True)[0] == 1
        assert trainer.policy.predict(np.array([0, 0, -0.1, -0.1], dtype=np.float32), deterministic=True)[0] == 0


def test_scripted_person_takes_over_where_the_learner_errs_and_hands_back(tmp_path):
    from irlkit.experts import load_or_train_expert

    env_cfg = cartpole(120)
    act_space = spaces_of(env_cfg)[1]
    expert = load_or_train_expert(env_cfg, progress=False).policy
    person = ScriptedPerson(expert, act_space, hand_back_after=3, accept_prob=0.2)
    learner = learner_for(env_cfg)
    # a little training so that the learner is sometimes right, sometimes wrong
    rng = np.random.default_rng(0)
    demo_obs = rng.uniform(-0.2, 0.2, size=(64, 4)).astype(np.float32)
    demo_acts = expert.predict(demo_obs, deterministic=True)[0]
    learner.fit(demo_obs, demo_acts, demo_obs, np.zeros(64, bool), epochs=1, min_batches=20)
    sess = session(tmp_path, env_cfg, person, learner, lambda s: None, realtime=False)
    try:
        result = sess.run_round(0, min_steps=240)
    finally:
        sess.close()
    assert result.steps == 240 and 0 < result.labels < 240
    takeovers = hand_backs = 0
    for ep in stored(tmp_path).episodes():
        assert ep.meta.device == "script:sb3-expert"
        for t, info in enumerate(ep.infos):
            expert_action = int(expert.predict(ep.obs[t], deterministic=True)[0])
            with torch.no_grad():
                probs = expert.get_distribution(expert.obs_to_tensor(ep.obs[t])[0]).distribution.probs[0]
            acceptable = info["proposed"] == expert_action or float(probs[info["proposed"]]) >= 0.2
            before = ep.infos[t - 1]["actor"] if t else "learner"
            if info["actor"] == PERSON:
                assert info["given"] == expert_action == int(ep.acts[t])
                if before != PERSON:  # a take-over: only where the learner was about to do what the expert rejects
                    assert not acceptable
                    takeovers += 1
            else:
                hand_backs += before == PERSON
                if before != PERSON:  # the learner kept control only where the expert accepts its action
                    assert acceptable
    assert takeovers >= 2 and hand_backs >= 1


def test_gamepad_stick_takes_over_and_centring_it_hands_back(tmp_path):
    env_cfg = cartpole(30)
    keymap = parse_keymap(env_cfg.teleop, spaces_of(env_cfg)[1], env_name="cartpole")
    pygame.display.init()
    person = GamepadInput(keymap, fps=FPS, require_device=False)

    def hook(status: Status) -> None:
        if status.state is RecorderState.WAITING:
            post_key(pygame.KEYDOWN, pygame.K_SPACE)
        for step, value in ((5, 0.9), (12, 0.05)):
            if status.step == step and not moved.get(step):
                pygame.event.post(pygame.event.Event(pygame.JOYAXISMOTION, joy=0, instance_id=0, axis=0, value=value))
                moved[step] = True

    moved: dict[int, bool] = {}
    sess = session(tmp_path, env_cfg, person, learner_for(env_cfg), hook)
    try:
        sess.run_round(0, min_steps=30)
    finally:
        sess.close()
    ep = stored(tmp_path).episode(0)
    assert [t for t, i in enumerate(ep.infos) if i["actor"] == PERSON] == list(range(5, 12))
    assert all(int(ep.acts[t]) == 1 for t in range(5, 12))  # stick right pushes right (inside the dead zone: off)
    assert ep.meta.device == "gamepad"


def test_a_dataset_of_another_env_is_refused_before_the_window_opens(tmp_path):
    mc = dataclasses.replace(load_env_config("mountain_car"), max_episode_steps=20)
    store = DemoStore(tmp_path / "store")
    env = make_env(mc)
    store.create("corr", env_id=mc.id, observation_space=env.observation_space, action_space=env.action_space)
    env.close()
    env_cfg = cartpole(20)
    with pytest.raises(IrlkitError, match="corr"):
        session(
            tmp_path,
            env_cfg,
            KeyboardInput(parse_keymap(env_cfg.teleop, spaces_of(env_cfg)[1], env_name="cartpole"), fps=FPS),
            learner_for(env_cfg),
            lambda s: None,
        )


class LeanCorrector:
    """A `Corrector` with no window and no store: on a headless CartPole it takes over wherever the
    learner would push against the way the pole leans, and labels that step with the push it wants."""

    dataset_path = "(kept in memory)"

    def __init__(self, env_cfg):
        self.env = make_env(env_cfg)
        self.messages: list[str] = []
        self.closed = False

    def prior_labels(self):
        from irlkit.algos.hg_dagger import Labels

        empty = np.zeros((0, 4), dtype=np.float32)
        return Labels(obs=empty, acts=np.zeros(0, dtype=np.int64), next_obs=empty, dones=np.zeros(0, dtype=bool))

    def run_round(self, learner, round_no, min_steps):
        from irlkit.algos.hg_dagger import RoundResult

        result = RoundResult(round=round_no)
        while result.steps < min_steps:
            obs, _ = self.env.reset(seed=1000 * round_no + len(result.episodes))
            ret, done = 0.0, False
            while not done:
                wanted = int(obs[2] + obs[3] > 0)
                proposed = int(learner.propose(obs).action)
                action = wanted if proposed != wanted else proposed
                next_obs, reward, terminated, truncated, _ = self.env.step(action)
                done = terminated or truncated
                if proposed != wanted:
                    result.labels += 1
                    result.obs.append(obs)
                    result.acts.append(wanted)
                    result.next_obs.append(next_obs)
                    result.dones.append(done)
                result.steps += 1
                ret += float(reward)
                obs = next_obs
            result.episodes.append(f"round{round_no}-{len(result.episodes)}")
            result.returns.append(ret)
        return result

    def message(self, text):
        self.messages.append(text)

    def close(self):
        self.closed = True
        self.env.close()

    def summary(self):
        return {"expert": "lean-rule"}


def test_hg_dagger_learns_from_any_corrector_handed_down(tmp_path):
    """The algorithm needs only the `Corrector` protocol: no window, no store, no pygame."""
    from imitation.util import logger as imit_logger
    from stable_baselines3.common.utils import set_random_seed

    from irlkit.algos.base import RunContext
    from irlkit.algos.configs import DAggerConfig
    from irlkit.algos.dagger import build
    from irlkit.corrections.config import HumanExpertConfig
    from irlkit.envs import make_venv
    from irlkit.envs.episodes import run_episodes

    set_random_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as run_training does: tiny MLPs are slowest on several threads
    env_cfg = cartpole(100)
    ctx = RunContext(
        env_cfg=env_cfg,
        venv=make_venv(env_cfg, seed=0, n_envs=1),
        demos=None,
        rng=np.random.default_rng(0),
        seed=0,
        logger=imit_logger.configure(str(tmp_path), ["csv"]),
        run_dir=tmp_path,
        expert=HumanExpertConfig(operator="rule", min_batches_per_round=100),
    )
    ctx.human = corrector = LeanCorrector(env_cfg)
    trainer = build(DAggerConfig(budget=300, round_steps=100, use_demos=False), ctx)
    done: list[int] = []
    try:
        trainer.train(300, done.append)
    finally:
        torch.set_num_threads(threads)
    summary = trainer.summary()
    assert corrector.closed and len(corrector.messages) == 3 and "retraining" in corrector.messages[0]
    assert sum(done) == trainer.env_steps == 300 and summary["expert"] == "lean-rule"
    assert summary["labels"] == sum(r["labels"] for r in summary["rounds"]) > 0
    assert summary["rounds"][-1]["labels"] < summary["rounds"][0]["labels"]  # fewer corrections as it learns
    # Alone on unseen episodes it keeps the pole up far longer than the untrained policy (7.8 of 100).
    alone = run_episodes(env_cfg, trainer.policy, [5000 + i for i in range(5)], deterministic=True)
    assert np.mean(alone.returns) > 40, alone.returns


KILLED_SESSION = textwrap.dedent("""
    import os, signal, sys
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    import numpy as np, pygame
    sys.path.insert(0, "tests")
    from test_corrections import cartpole, learner_for, post_key, session, spaces_of
    from irlkit.teleop import KeyboardInput, RecorderState, parse_keymap

    class Witness(KeyboardInput):   # the keyboard, saying each label it gives as it gives it
        def action(self, obs):
            action = super().action(obs)
            print("label", int(action), flush=True)
            return action

    env_cfg = cartpole(40)
    person = Witness(parse_keymap(env_cfg.teleop, spaces_of(env_cfg)[1], env_name="cartpole"), fps=200.0)

    def hook(status):
        if status.state is RecorderState.WAITING:
            post_key(pygame.KEYDOWN, pygame.K_SPACE)
        elif status.step == 5:
            post_key(pygame.KEYDOWN, pygame.K_RIGHT)
        elif status.step == 15:
            post_key(pygame.KEYUP, pygame.K_RIGHT)
        elif status.step == 20 and status.kept == 1:
            post_key(pygame.KEYDOWN, pygame.K_LEFT)   # takes over in episode 1 ...
        elif status.step == 27 and status.kept == 1:
            os.kill(os.getpid(), signal.SIGKILL)      # ... and is killed while still driving

    from pathlib import Path
    sess = session(Path(sys.argv[1]), env_cfg, person, learner_for(env_cfg), hook)
    sess.run_round(0, min_steps=1000)
""")


@pytest.mark.slow
def test_a_session_killed_while_the_person_drives_loses_no_label(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_SESSION, str(tmp_path)],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr[-3000:]
    given = [int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("label")]
    assert len(given) == 10 + 10 + 7  # episode 0: steps 5-14; episode 1: 5-14 and 20-26, then the kill
    ds = stored(tmp_path)
    assert len(ds) == 1 and [j.live for j in ds.journals()] == [False]

    from irlkit.corrections.stores import recover_unfinished

    [recovered] = recover_unfinished(ds)
    first, second = ds.episodes()
    assert second.meta.episode_id == recovered and second.meta.extra["recovered"] and second.truncated
    assert len(second) == 27 and second.meta.operator == "op-7" and second.meta.source == "correction"
    obs, acts, _, _ = labelled_transitions(ds, operator="op-7")
    assert acts.tolist() == given  # every label given, in order, once
    assert [t for t, i in enumerate(second.infos) if i["actor"] == PERSON] == list(range(5, 15)) + list(range(20, 27))
    assert ds.validate() == [] and ds.recover() == []


# ------------------------------------------------------------------------------------------------
# the command line: python -m irlkit algo=dagger expert=human, with the scripted person
# ------------------------------------------------------------------------------------------------
def cli(tmp_path: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "irlkit",
        "algo=dagger",
        "expert=human",
        "expert.input=scripted",
        f"expert.store_root={tmp_path / 'store'}",
        "expert.dataset=cp_corr",
        "env.max_episode_steps=100",
        "algo.use_demos=false",
        "algo.bc_epochs_per_round=2",
        "expert.min_batches_per_round=20",
        "progress=false",
        "eval.episodes=2",
        "eval.curve_points=0",
        *overrides,
    ]


def child_env() -> dict[str, str]:
    return {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}


@pytest.mark.slow
def test_cli_hg_dagger_with_the_scripted_person_stores_corrections_and_reports_them(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.run(
        cli(
            tmp_path,
            "operator=script-0",
            "algo.budget=300",
            "algo.round_steps=100",
            "query=uncertain",
            f"hydra.run.dir={run}",
        ),
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "round 2:" in proc.stderr
    result = json.loads((run / "eval.json").read_text())
    assert result["expert"] == "human" and result["query"] == "uncertain" and result["env_steps"] == 300
    first = result["rounds"][0]
    assert (
        len(result["rounds"]) == 3 and first["labels"] > 0 and first["asked"] >= first["labels"]
    )  # it drives when asked
    assert 0 < result["asked_share"] <= 1 and result["asked_steps"] == sum(r["asked"] for r in result["rounds"])
    assert result["approved"] >= 1 and result["approved"] == sum(r["approved"] for r in result["rounds"])  # "go on"
    assert result["answers"] == result["labels"] + result["approved"]
    ds = DemoStore(tmp_path / "store").open("cp_corr")
    assert (
        len(ds) == 3
        and {m.source for m in ds.metas} == {"correction"}
        and {m.operator for m in ds.metas} == {"script-0"}
    )
    assert len(labelled_transitions(ds)[1]) == result["labels"]
    assert len(labelled_transitions(ds, approvals=True)[1]) == result["answers"]
    stats = correction_stats(ds, operator="script-0")
    assert stats["approved"] == result["approved"]
    assert (stats["steps"], stats["labels"], stats["asked"]) == (300, result["labels"], result["asked_steps"])
    assert stats["asked_share"] == pytest.approx(result["asked_share"])
    assert (run / "policy.zip").exists()
    # the corrections export like any dataset
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "irlkit.demos",
            "--root",
            str(tmp_path / "store"),
            "export",
            "--format",
            "imitation",
            "cp_corr",
            str(tmp_path / "exported"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "exported" / "irlkit.json").read_text())


@pytest.mark.slow
def test_killed_session_loses_no_label_already_given_and_resumes_from_them(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        cli(
            tmp_path,
            "operator=script-1",
            "algo.budget=100000",
            "algo.round_steps=100",
            "expert.realtime=true",
            "expert.fps=400",
            f"hydra.run.dir={run}",
        ),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = DemoStore(tmp_path / "store")
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # kill it mid-episode, after a few committed ones
            if (
                store.exists("cp_corr")
                and len(store.open("cp_corr")) >= 3
                and any(j.steps >= 5 for j in store.open("cp_corr").journals())
            ):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no corrections were committed in 120 s")
        proc.send_signal(signal.SIGKILL)  # no handler, no cleanup
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    def labels_in(episodes) -> int:
        return sum(1 for ep in episodes for i in ep.infos if i["actor"] == PERSON)

    ds = store.open("cp_corr")
    committed = {ep.meta.episode_id: ep for ep in ds.episodes()}
    dead = [j for j in ds.journals() if not j.live]
    # A kill between an episode's commit and its journal's removal leaves the journal of a stored
    # episode: recovery removes it without storing the episode twice, so it is not unfinished.
    unfinished = [j for j in dead if j.episode_id not in committed]
    assert len(committed) >= 3 and len(dead) <= 1  # the episode in progress, unless it ended just then
    assert len(ds.validate()) == len(dead)

    resumed = tmp_path / "resumed"
    out = subprocess.run(
        cli(
            tmp_path,
            "operator=script-1",
            "algo.budget=100",
            "algo.round_steps=100",
            "expert.resume=true",
            f"hydra.run.dir={resumed}",
        ),
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert ("recovered 1 unfinished episode" in out.stderr) == bool(unfinished)
    ds.refresh()
    recovered = [ep for ep in ds.episodes() if ep.meta.extra.get("recovered")]
    assert [ep.meta.episode_id for ep in recovered] == [j.episode_id for j in unfinished]
    assert [len(ep) for ep in recovered] == [j.steps for j in unfinished]  # every step it had logged
    result = json.loads((resumed / "eval.json").read_text())
    assert result["resumed_labels"] == labels_in(committed.values()) + labels_in(recovered) > 0
    assert len(ds) == len(committed) + len(recovered) + 1 and ds.validate() == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides, message",
    [
        ((), "operator=<alias>"),
        (("operator=op-7", "expert.query=sometimes"), "query='sometimes' (expert.query)"),
        (("operator=op-7", "query=sometimes"), "query='sometimes' (expert.query)"),
        (("operator=op-7", "expert.query=uncertain", "expert.novelty_threshold=-1"), "expert.novelty_threshold=-1"),
    ],
)
def test_cli_mistakes_are_one_paragraph_and_exit_2(tmp_path, overrides, message):
    out = subprocess.run(
        cli(tmp_path, "algo.budget=100", f"hydra.run.dir={tmp_path / 'run'}", *overrides),
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_a_person_without_a_display_is_told_so_instead_of_waiting_at_an_unseen_window(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    cmd = [
        a
        for a in cli(tmp_path, "operator=op-7", "algo.budget=100", f"hydra.run.dir={tmp_path / 'run'}")
        if a != "expert.input=scripted"
    ]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "no display to show the corrections window on" in out.stderr and "xvfb-run" in out.stderr
