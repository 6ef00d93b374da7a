"""Registers the `feedback` group's typed schemas with Hydra (imported by `irlkit.__main__`)."""

from irlkit.config import add_schema
from irlkit.feedback.config import DatasetFeedbackConfig, HumanFeedbackConfig

add_schema("feedback", "human_schema", HumanFeedbackConfig)
add_schema("feedback", "dataset_schema", DatasetFeedbackConfig)
