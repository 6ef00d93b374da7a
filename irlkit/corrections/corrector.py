"""HG-DAgger's `Corrector` (irlkit.algos.hg_dagger) over the corrections window.

`WindowCorrector` is what `expert=human` hands down to the algorithm: each round it lets the learner
drive in a `CorrectionSession` with a person (keyboard, gamepad) or the scripted stand-in in the
seat, and returns the labels and the round's facts. The window, its env and the person are made
when the first round starts, not while the run is being set up: the scripted person's expert is an
SB3 zip, and loading one reseeds the global RNGs with the expert's own seed, which must come after
the learner has drawn its initial weights from the run's seed.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from irlkit.algos.hg_dagger import Labels, Proposer, RoundResult
from irlkit.corrections.config import HumanExpertConfig
from irlkit.corrections.session import CorrectionSession, SessionConfig
from irlkit.corrections.stores import labelled_transitions, recover_unfinished
from irlkit.store import DemoStore
from irlkit.teleop.inputs import InputDevice, Status


class WindowCorrector:
    """A person (or the scripted stand-in) correcting the learner in the corrections window."""

    def __init__(
        self,
        config: HumanExpertConfig,
        session: SessionConfig,
        person: Callable[[], InputDevice],
        *,
        on_frame: Optional[Callable[[Status], None]] = None,
    ):
        self.config = config
        self.session_config = session
        self._make_person = person
        self.on_frame = on_frame
        self.store = DemoStore(session.store_root)
        self.dataset_path = str(self.store.path_of(session.dataset))
        self.session: Optional[CorrectionSession] = None

    def prior_labels(self) -> Labels:
        """With `expert.resume`, this operator's corrections already stored in the dataset (the episode
        a killed session left half-written included); otherwise none."""
        cfg = self.config
        if cfg.resume and self.store.exists(self.session_config.dataset):
            dataset = self.store.open(self.session_config.dataset)
            recover_unfinished(dataset)  # a killed session's last episode counts too
            return Labels(*labelled_transitions(dataset, operator=cfg.operator, approvals=cfg.learn_from_approvals))
        empty = np.zeros((0,))
        return Labels(obs=empty, acts=empty, next_obs=empty, dones=empty.astype(bool))

    def run_round(self, learner: Proposer, round_no: int, min_steps: int) -> RoundResult:
        if self.session is None:
            self.session = CorrectionSession(
                self.session_config, person=self._make_person(), learner=learner, on_frame=self.on_frame
            )
        self.session.learner = learner
        return self.session.run_round(round_no, min_steps)

    def message(self, text: str) -> None:
        if self.session is not None:
            self.session.message(text)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def summary(self) -> dict[str, Any]:
        cfg = self.config
        uncertain = cfg.query == "uncertain"
        return {
            "expert": "human",
            "operator": cfg.operator,
            "input": cfg.input,
            "query": cfg.query,
            "threshold": cfg.threshold if uncertain else None,
            "novelty_threshold": cfg.novelty_threshold if uncertain else None,
        }
