"""The one config boundary: typed run configs, irlkit's own config errors, --help, config.yaml round trips."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import run_cli, run_config
from irlkit.algos import ALGORITHMS
from irlkit.cli.app import config_dir
from irlkit.cli.overrides import group_options
from irlkit.errors import IrlkitError
from irlkit.runconfig import EXPERT_KINDS, FEEDBACK_KINDS, RunConfig
from irlkit.typed import field_docs


@pytest.mark.parametrize(
    "args, expected",
    [
        (["algo.budgt=10"], "unknown option `algo.budgt` (did you mean `algo.budget`?)"),
        (["algo=gial"], "algo=gial is not one of the algo configs (did you mean `gail`?)"),
        (["algo=adversarial_schema"], "internal schema"),
        (["algo=gail_schema"], "internal schema"),
        (["algo.budget=abc"], "`algo.budget=abc`: algo.budget takes an integer"),
        (["algo.noise=0.2", "algo=preference"], "(did you mean `feedback.noise`?)"),
        (["algo=bc,gail"], "add -m (multirun)"),
        (["algo=gail", "feedback=human"], "feedback=human is not used by algo=gail"),
        (["algo=gail", "feedback.noise=0.3"], "feedback=synthetic is not used by algo=gail"),
        (["algo=bc", "expert=human"], "expert=human is not used by algo=bc"),
        (["algo=gail", "operator=op-1"], "operator= is not used by algo=gail"),
        (["algo=preference", "feedback=shaping"], "feedback=shaping is not something algo=preference can use"),
        (["algo=ppo", "feedback=human"], "feedback=human is not something algo=ppo can use"),
        (["+algo.extra=1"], "unknown option `algo.extra`"),
        (["algo.budget"], "Each option is key=value"),
    ],
)
def test_config_mistakes_are_one_paragraph_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit", *args, f"hydra.run.dir={tmp_path}"], timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_help_lists_user_options_with_their_docstrings() -> None:
    proc = run_cli(["-m", "irlkit", "algo=preference", "env=lunar_lander", "--help"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "_schema" not in out and "algo_env" not in out
    assert "algo.total_comparisons" in out and "feedback.noise" in out
    assert "Gradient batches" not in out  # BC's budget doc: not BC's options on a preference command line
    budget_line = next(line for line in out.splitlines() if line.strip().startswith("algo.budget "))
    assert budget_line.split()[1] == str(ALGORITHMS["preference"].config().budget)
    proc = run_cli(["-m", "irlkit", "--help"], timeout=120)
    assert "expert.kind" not in proc.stdout and "feedback.noise" not in proc.stdout, "bc reads neither group"


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_config_field_has_a_docstring(name: str) -> None:
    missing = []

    def walk(cls: type, where: str) -> None:
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            if f.name not in docs and f.name not in ("name", "kind"):
                missing.append(f"{where}.{f.name}")
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
            if dataclasses.is_dataclass(default):
                walk(type(default), f"{where}.{f.name}")

    walk(ALGORITHMS[name].config, "algo")
    assert not missing, f"fields without a one-line docstring: {missing}"


@pytest.mark.parametrize("group, kinds", [("feedback", FEEDBACK_KINDS), ("expert", EXPERT_KINDS)])
def test_every_group_config_field_has_a_docstring(group: str, kinds: dict) -> None:
    missing = [
        f"{group}={kind}: {f.name}"
        for kind, cls in kinds.items()
        for f in dataclasses.fields(cls)
        if f.name != "kind" and f.name not in field_docs(cls)
    ]
    assert not missing, missing


def test_yaml_options_match_the_registries() -> None:
    assert set(group_options(config_dir(), "algo")) == set(ALGORITHMS)
    assert set(FEEDBACK_KINDS) <= set(group_options(config_dir(), "feedback"))
    assert set(EXPERT_KINDS) == set(group_options(config_dir(), "expert"))


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_command_line_defaults_are_the_dataclass_defaults(name: str) -> None:
    """Defaults live in one place: conf/algo/<name>.yaml sets nothing but the schema and the name
    (lunar_lander: an env with no per-(algo, env) file in conf/algo_env/)."""
    assert run_config([f"algo={name}", "env=lunar_lander"]).algo == ALGORITHMS[name].config(name=name)


@pytest.mark.parametrize(
    "overrides",
    [
        ["algo=gail"],
        ["algo=preference", "feedback=human", "feedback.port=0"],
        ["algo=dagger", "expert=human", "operator=op-1", "query=uncertain"],
        ["algo=ppo", "feedback=shaping"],
        ["algo=mce_irl", "env=cliff_world"],
    ],
)
def test_run_config_round_trips_through_its_dict(overrides: list[str]) -> None:
    import yaml

    config = run_config(overrides)
    assert RunConfig.from_dict(yaml.safe_load(yaml.safe_dump(config.to_dict()))) == config
    if "query=uncertain" in overrides:
        assert config.expert.query == "uncertain" and config.expert.operator == "op-1"


def test_from_dict_names_the_nearest_key_and_the_expected_type() -> None:
    with pytest.raises(IrlkitError, match=r"unknown option `algo.budgt` \(did you mean `budget`\?\)"):
        RunConfig.from_dict({"algo": {"name": "bc", "budgt": 3}})
    with pytest.raises(IrlkitError, match=r"`algo.budget=3.5` is a number; expected an integer"):
        RunConfig.from_dict({"algo": {"name": "bc", "budget": 3.5}})
    with pytest.raises(IrlkitError, match=r"algo=bcc is not an algorithm irlkit has \(did you mean `algo=bc`\?\)"):
        RunConfig.from_dict({"algo": {"name": "bcc"}})
    with pytest.raises(IrlkitError, match=r"`eval.episodes` cannot be null"):
        RunConfig.from_dict({"eval": {"episodes": None}})


def test_python_api_refuses_a_group_the_algorithm_does_not_read() -> None:
    with pytest.raises(IrlkitError, match="feedback=human is not used by algo=gail"):
        RunConfig(algo=ALGORITHMS["gail"].config(name="gail"), feedback=FEEDBACK_KINDS["human"]())
    assert RunConfig(algo=ALGORITHMS["preference"].config()).human_input() == FEEDBACK_KINDS["synthetic"]()
    assert RunConfig(algo=ALGORITHMS["ppo"].config()).human_input() is None


@pytest.mark.slow
def test_a_run_made_from_python_is_rescored_from_its_config_yaml(tmp_path: Path) -> None:
    from irlkit.evaluate import EvalConfig
    from irlkit.train import run_training

    config = RunConfig(
        algo=ALGORITHMS["bc"].config(budget=30), eval=EvalConfig(episodes=2, curve_points=0), progress=False
    )
    result = run_training(config, tmp_path)
    assert (tmp_path / "config.yaml").is_file()
    proc = run_cli(["-m", "irlkit.evaluate", f"run={tmp_path}"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    again = json.loads((tmp_path / "eval.json").read_text())
    assert again["returns"] == result["returns"]
