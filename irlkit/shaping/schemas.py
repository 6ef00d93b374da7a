"""Registers `feedback=shaping`'s typed schema with Hydra (imported by `irlkit.__main__`)."""

from irlkit.config import add_schema
from irlkit.shaping.config import ShapingFeedbackConfig

add_schema("feedback", "shaping_schema", ShapingFeedbackConfig)
