"""Live reward shaping (TAMER, Knox & Stone 2009): `algo=ppo feedback=shaping`.

While PPO trains, a person watching env 0 presses Up ("good") or Down ("bad"); each press is
credited to the last few steps, a small model of the person's feedback is fitted online on the
credited steps, and `weight * model(obs, act)` is added to the env's reward. A rule from config
(`irlkit.shaping.config.RuleConfig`: a threshold on an observation entry, or on an action entry
times an observation entry) can stand in for the person through the same input path.
The heavy parts live in `irlkit.shaping.tamer`; this package's config is light (no torch).
"""
