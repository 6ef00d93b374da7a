"""Registers the `expert` group's typed schemas with Hydra (imported by `irlkit.__main__`)."""

from irlkit.config import add_schema
from irlkit.corrections.config import HumanExpertConfig, SB3ExpertConfig

add_schema("expert", "sb3_expert_schema", SB3ExpertConfig)
add_schema("expert", "human_expert_schema", HumanExpertConfig)
