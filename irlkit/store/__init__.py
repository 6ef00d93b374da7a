"""The demos store: every demonstration irlkit learns from is read and written through here.

    from irlkit.store import DemoStore
    store = DemoStore()                      # IRLKIT_DEMOS, the checkout's demos/, or ~/.local/share
    ds = store.open("cartpole_expert")
    for ep in ds.select(source="teleop", min_return=400):
        print(ep.meta.operator, len(ep), ep.episode_return)
    transitions = ds.to_transitions()        # imitation.data.types.Transitions

The store knows no algorithm, no env, no Hydra and no UI; everything above it uses this API.

Modules: `root` (where datasets live, name -> folder), `base` (what both dataset kinds share),
`segment` (one committed segment folder), `dataset` + `episode_segment` (episodes),
`preferences` (pairs and labels), `journal` (episodes in progress), `compaction`, `checks`
(is this data fit to learn from), `imitation_types`, `episode` (one episode and its metadata),
`spaces` (spaces as JSON), `atomic` and `jsonio` (how files are written and read), `interop`
(import and export).
"""

from irlkit.store.dataset import SCHEMA_VERSION, Dataset
from irlkit.store.episode import SOURCES, Episode, EpisodeMeta, check_operator, pseudonym, utc_now
from irlkit.store.preferences import (  # noqa: F401
    LABELS,
    Fragment,
    LabelRecord,
    PairRecord,
    PreferenceDataset,
    create_preferences,
    open_preferences,
)
from irlkit.store.root import DemoStore, check_name, default_root, shipped_demos_dir

__all__ = [
    "SCHEMA_VERSION",
    "SOURCES",
    "Dataset",
    "DemoStore",
    "Episode",
    "EpisodeMeta",
    "check_name",
    "check_operator",
    "default_root",
    "pseudonym",
    "shipped_demos_dir",
    "utc_now",
]
