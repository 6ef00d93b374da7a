"""Live reward shaping (TAMER, Knox & Stone 2009), the human side: `algo=ppo feedback=shaping`.

While PPO trains, a person watching env 0 presses Up ("good") or Down ("bad"); the algorithm
(`irlkit.algos.tamer`: credit assignment, the feedback model and its fitter, the shaped VecEnv)
turns the presses into a reward bonus. This package is who presses and what is kept of it:
`config` (the `feedback=shaping` schema, light: no torch), `inputs` (the keyboard, and the scripted
rule in the person's seat, `irlkit.shaping.config.RuleConfig`), `watch` (the watched env, a window
when one shows, and the `FeedbackSource` it hands down to the algorithm), `stores` (what a stored
watched episode holds, and its presses and labels read back). See docs/shaping.md.
"""
