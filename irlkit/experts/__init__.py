"""Expert policies for users without human demos, and rolling any policy out into store episodes.

Modules: `recipes` (how to train an expert per env), `cache` (shipped, cached or trained now:
`load_or_train_expert`), `rollouts` (`record_policy_episodes`, `RandomPolicy`, `TabularSoftPolicy`).
"""

from irlkit.experts.cache import (
    cached_expert_path,
    expert_cache_dir,
    load_expert,
    load_or_train_expert,
    save_expert,
    shipped_expert_path,
    train_expert,
)
from irlkit.experts.recipes import RECIPES, ExpertRecipe, recipe_for
from irlkit.experts.rollouts import (
    Policy,
    RandomPolicy,
    TabularSoftPolicy,
    evaluate_policy_return,
    policy_device_name,
    record_policy_episodes,
)

__all__ = [
    "RECIPES",
    "ExpertRecipe",
    "Policy",
    "RandomPolicy",
    "TabularSoftPolicy",
    "cached_expert_path",
    "evaluate_policy_return",
    "expert_cache_dir",
    "load_expert",
    "load_or_train_expert",
    "policy_device_name",
    "recipe_for",
    "record_policy_episodes",
    "save_expert",
    "shipped_expert_path",
    "train_expert",
]
