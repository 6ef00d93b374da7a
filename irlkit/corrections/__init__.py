"""Human corrections in the loop: HG-DAgger with take-over/hand-back, and asking when unsure.

    python -m irlkit algo=dagger expert=human env=cartpole operator=op-7                 # a person
    python -m irlkit algo=dagger expert=human operator=script-0 expert.input=scripted     # the stand-in
    python -m irlkit algo=dagger expert=human operator=op-7 query=uncertain

Modules: `config` (the `expert` group's schemas), `session` (the window loop: the learner drives,
the person takes over), `uncertainty` (the BC learner and its ensemble disagreement), `scripted` (an
SB3 expert in the person's seat), `stores` (what a stored correction holds and the labels read
back), `hg_dagger` (the `Trainer`). See docs/corrections.md.
"""

from irlkit.corrections.config import HumanExpertConfig, SB3ExpertConfig

__all__ = ["HumanExpertConfig", "SB3ExpertConfig"]
