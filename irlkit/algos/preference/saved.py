"""A finished preference run's reward model, rebuilt from its saved state dict (re-evaluation,
reward transfer), and the one rule for whether the model sees actions, shared with training."""

from __future__ import annotations

from typing import Any

import numpy as np

from irlkit.algos.configs import PreferenceConfig
from irlkit.algos.preference.rewards import EnvSpaceReward, make_reward_model
from irlkit.algos.relabel import AbsorbingStates


def reward_uses_action(cfg: PreferenceConfig, action_space: Any) -> bool:
    """`reward_use_action`, with None (auto) meaning: for continuous (Box) actions only."""
    from gymnasium import spaces

    if cfg.reward_use_action is None:
        return isinstance(action_space, spaces.Box)
    return bool(cfg.reward_use_action)


def load_reward(cfg: PreferenceConfig, observation_space: Any, action_space: Any, state: dict) -> Any:
    """The saved reward model as the reward to score on env transitions (for re-evaluation).

    Its input width tells what it was trained on: the absorbing indicator (the run's env
    terminates) and whether the next state was an input."""
    members = len({k.split(".")[1] for k in state if k.startswith("members.")}) or 1
    sizes = [v.shape[0] for k, v in state.items() if k.endswith("normalize_input.running_mean")]
    flat_obs = int(np.prod(observation_space.shape or (1,)))
    act_dim = (
        int(np.prod(action_space.shape)) if getattr(action_space, "shape", ()) else int(getattr(action_space, "n", 0))
    )
    use_action = reward_uses_action(cfg, action_space)
    width = sizes[0] if sizes else None
    layouts = [(pad, nxt) for nxt in (False, True) for pad in (False, True)]
    fits = [
        (pad, nxt)
        for pad, nxt in layouts
        if width == (flat_obs + pad) * (2 if nxt else 1) + (act_dim if use_action else 0)
    ]
    padded, use_next_state = fits[0] if fits else (False, False)
    absorbing = AbsorbingStates(observation_space, action_space, 0.99) if padded else None
    net = make_reward_model(
        absorbing.space if absorbing else observation_space,
        action_space,
        hid_sizes=cfg.reward_net_arch,
        use_action=use_action,
        use_next_state=use_next_state,
        members=members,
    )
    net.load_state_dict(state)
    return EnvSpaceReward(net, absorbing) if absorbing else net
