"""Human preference feedback: a labelling page in the browser, and saved preference datasets.

Importing this package registers two annotators with preference comparisons
(`irlkit.algos.preference.GATHERERS`): `human` (a person labels clip pairs in the browser while
training waits) and `dataset` (labels saved earlier, no person present). The heavy parts (server,
clip rendering) load only when one of them is used.

    python -m irlkit algo=preference feedback=human [feedback.port=8765] [feedback.annotator=alias]
    python -m irlkit algo=preference feedback=dataset feedback.dataset=NAME [feedback.annotators=[a,b]]
    python -m irlkit.feedback {queue,label,stats,show} ...
"""

from __future__ import annotations

from typing import Any

from irlkit.algos.base import RunContext
from irlkit.algos.preference import GATHERERS, PreferenceConfig


def _human(cfg: PreferenceConfig, feedback: dict[str, Any], ctx: RunContext) -> Any:
    from irlkit.feedback.gatherer import make_human_gatherer

    return make_human_gatherer(cfg, feedback, ctx)


def _dataset(cfg: PreferenceConfig, feedback: dict[str, Any], ctx: RunContext) -> Any:
    from irlkit.feedback.dataset_gatherer import make_dataset_gatherer

    return make_dataset_gatherer(cfg, feedback, ctx)


GATHERERS.setdefault("human", _human)
GATHERERS.setdefault("dataset", _dataset)
