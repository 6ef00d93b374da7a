"""Human corrections in the loop: HG-DAgger with take-over/hand-back, and asking when unsure.

    python -m irlkit algo=dagger expert=human env=cartpole operator=op-7                 # a person
    python -m irlkit algo=dagger expert=human operator=script-0 expert.input=scripted     # the stand-in
    python -m irlkit algo=dagger expert=human operator=op-7 query=uncertain

This package is the human side; the algorithm (HG-DAgger's `Trainer` and its BC ensemble) lives in
`irlkit.algos.hg_dagger` and `irlkit.algos.bc_ensemble`, and receives the person as a `Corrector`.
Modules: `config` (the `expert` group's schemas), `labellers` (what `expert=sb3|human` hands down to
DAgger), `corrector` (the `Corrector` over the window), `session` (the window loop: the learner drives,
the person takes over), `scripted` (an SB3 expert in the person's seat), `stores` (what a stored
correction holds and the labels read back). See docs/corrections.md.
"""

from irlkit.corrections.config import HumanExpertConfig, SB3ExpertConfig

__all__ = ["HumanExpertConfig", "SB3ExpertConfig"]
