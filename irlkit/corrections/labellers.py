"""Who labels DAgger's states (the `expert` group), built above the algorithm and handed down.

`irlkit.train.HUMAN_INPUTS` calls these with (algo config, expert config, RunContext) and puts what
they return in `RunContext.human`, so `irlkit.algos.dagger` never loads an expert, opens a window
or reads a key itself:

* `expert=sb3` -> `sb3_expert`: the SB3 expert's policy (shipped, cached, or trained now by
  `irlkit.experts`), which imitation's DAgger asks at every state the rollouts visit;
* `expert=human` -> `corrector`: a `WindowCorrector`, the corrections window with a person at the
  keyboard or gamepad, or the scripted stand-in (the SB3 expert in the person's seat), for HG-DAgger.
"""

from __future__ import annotations

from typing import Any

from irlkit.corrections.config import INPUTS, QUERIES, HumanExpertConfig, SB3ExpertConfig
from irlkit.corrections.corrector import WindowCorrector
from irlkit.corrections.session import SessionConfig
from irlkit.envs import EnvConfig, make_env, render_fps
from irlkit.errors import IrlkitError
from irlkit.teleop.inputs import InputDevice


def sb3_expert(algo_cfg: Any, cfg: SB3ExpertConfig, ctx: Any) -> Any:
    """`expert=sb3`: the expert's policy (imitation wants the policy, not the SB3 algorithm: it pickles it)."""
    from irlkit.experts import load_or_train_expert

    return load_or_train_expert(ctx.env_cfg, seed=algo_cfg.expert_seed).policy


def check_human_expert(cfg: HumanExpertConfig) -> HumanExpertConfig:
    """The user's mistakes in the `expert=human` group, named before any window opens."""
    if not cfg.operator:
        raise IrlkitError(
            "expert=human needs the pseudonym of the person correcting: add operator=<alias> (letters, digits, "
            "'_-.'; never a real name). The scripted stand-in needs one too, e.g. operator=scripted-expert."
        )
    if cfg.input not in INPUTS:
        raise IrlkitError(f"expert.input={cfg.input!r}: choose one of {', '.join(INPUTS)}")
    if cfg.query not in QUERIES:
        raise IrlkitError(f"query={cfg.query!r} (expert.query): choose one of {', '.join(QUERIES)}")
    if cfg.query == "uncertain" and cfg.ensemble < 2:
        raise IrlkitError(
            f"expert.query=uncertain needs an ensemble of at least 2 policies, got expert.ensemble={cfg.ensemble}"
        )
    if cfg.novelty_threshold is not None and cfg.novelty_threshold <= 0:
        raise IrlkitError(
            f"expert.novelty_threshold={cfg.novelty_threshold}: give a positive distance (e.g. 0.5), "
            "or null to ask on ensemble disagreement only"
        )
    return cfg


def corrector(algo_cfg: Any, cfg: HumanExpertConfig, ctx: Any) -> WindowCorrector:
    """`expert=human`: the corrections window and who sits at it. A keyboard or gamepad is checked now;
    the scripted person's expert is loaded, and the window opened, when the first round starts
    (`irlkit.corrections.corrector` says why)."""
    check_human_expert(cfg)
    env_cfg: EnvConfig = ctx.env_cfg
    scripted = cfg.input == "scripted"
    session = SessionConfig(
        env=env_cfg,
        dataset=cfg.dataset or f"{env_cfg.name}_corrections",
        operator=cfg.operator or "",
        query=cfg.query,
        threshold=cfg.threshold,
        novelty_threshold=cfg.novelty_threshold,
        fps=cfg.fps,
        realtime=(not scripted) if cfg.realtime is None else cfg.realtime,
        store_root=cfg.store_root,
        seed=ctx.seed if cfg.seed is None else cfg.seed,
        decline_cooldown_s=cfg.decline_cooldown_s,
        learn_from_approvals=cfg.learn_from_approvals,
        max_window=(int(cfg.max_window[0]), int(cfg.max_window[1])),
    )
    action_space = ctx.action_space
    if scripted:

        def person() -> InputDevice:
            from irlkit.corrections.scripted import ScriptedPerson
            from irlkit.experts import load_or_train_expert

            expert = load_or_train_expert(env_cfg, seed=algo_cfg.expert_seed)
            return ScriptedPerson(
                expert.policy,
                action_space,
                query=cfg.query,
                hand_back_after=cfg.hand_back_after,
                accept_prob=cfg.accept_prob,
            )
    else:
        from irlkit.teleop.inputs import GamepadInput, KeyboardInput
        from irlkit.teleop.keymap import parse_keymap

        keymap = parse_keymap(env_cfg.teleop, action_space, env_name=env_cfg.name, env_id=env_cfg.id)
        fps = cfg.fps or _window_fps(env_cfg)  # ramped keys count in steps of the window's rate
        device = (GamepadInput if cfg.input == "gamepad" else KeyboardInput)(keymap, fps=fps)

        def person() -> InputDevice:
            return device

    return WindowCorrector(cfg, session, person)


def _window_fps(env_cfg: EnvConfig) -> float:
    env = make_env(env_cfg)
    try:
        return float(render_fps(env))
    finally:
        env.close()
