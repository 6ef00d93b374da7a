"""The benchmark: the smoke suite end to end, resume after a partial sweep, the same numbers under
another launcher, and the aggregation maths against values worked out by hand."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import compose_config, run_cli, run_config
from irlkit.bench.report import (
    RunRecord,
    aggregate_scores,
    cell_table,
    iqm,
    mean_ci,
    score_matrices,
)

SMOKE_CELLS = {
    ("bc", "cartpole"),
    ("dagger", "cartpole"),
    ("gail", "cartpole"),
    ("airl", "cartpole"),
    ("preference", "cartpole"),
    ("density", "cartpole"),
    ("mce_irl", "cliff_world"),
    ("sqil", "cartpole"),
}


# ------------------------------------------------------------------------------------------------
# the smoke suite, end to end (one sweep shared by the tests below)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "smoke"
    proc = run_cli(["-m", "irlkit.bench", "suite=smoke", f"out={out}"], timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "report" / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG header (also proves the file is a PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.slow
def test_smoke_suite_writes_one_row_per_run_and_the_report(smoke: Path) -> None:
    rows = _rows(smoke)
    assert {(r["algo"], r["env"]) for r in rows} == SMOKE_CELLS
    assert len(rows) == len(SMOKE_CELLS) and {r["seed"] for r in rows} == {"0"}
    for r in rows:
        assert Path(r["run_dir"]).name == f"{r['algo']}-{r['env']}-seed0"
        assert (Path(r["run_dir"]) / "eval.json").is_file()
        assert math.isfinite(float(r["return_mean"])) and math.isfinite(float(r["normalized_score"]))
        assert float(r["wall_s"]) >= 0 and int(r["budget"]) > 0
    online = [r for r in rows if r["algo"] in ("gail", "airl", "preference", "density")]
    assert all(int(r["env_steps"]) > 0 for r in online)

    md = (smoke / "report" / "report.md").read_text()
    for algo, env in SMOKE_CELLS:
        assert f"| {algo} |" in md and env in md
    assert "## Aggregate over envs" in md and "IQM" in md
    assert "failed runs" not in md and "unfinished" not in md
    for name in ("scores.png", "curves.png"):
        w, h = _png_size(smoke / "report" / name)
        assert w > 300 and h > 200
        assert f"({name})" in md


@pytest.mark.slow
def test_resume_reruns_only_the_killed_run(smoke: Path) -> None:
    killed = smoke / "bc-cartpole-seed0"  # killed after its last checkpoint: resumed from it
    (killed / "eval.json").unlink()
    early = smoke / "dagger-cartpole-seed0"  # killed before its first checkpoint: trained again
    (early / "eval.json").unlink()
    shutil.rmtree(early / "checkpoint")
    (early / "leftover.tmp").write_text("half-written")
    before = {p.name: (p / "eval.json").stat().st_mtime_ns for p in smoke.iterdir() if (p / "eval.json").is_file()}
    assert len(before) == len(SMOKE_CELLS) - 2
    proc = run_cli(["-m", "irlkit.bench", "suite=smoke", f"out={smoke}"], timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("finished earlier, skipped") == len(SMOKE_CELLS) - 2
    assert "bc-cartpole seed 0: killed earlier, resuming from its checkpoint" in proc.stdout
    after = {p.name: (p / "eval.json").stat().st_mtime_ns for p in smoke.iterdir() if (p / "eval.json").is_file()}
    assert {k: after[k] for k in before} == before, "a finished run was trained again"
    assert (killed / "eval.json").is_file() and (early / "eval.json").is_file()
    assert not (early / "leftover.tmp").exists()
    assert json.loads((killed / "eval.json").read_text())["budget_spent"] == 100
    rows = _rows(smoke)
    assert len(rows) == len(SMOKE_CELLS), "a run was counted twice or not at all"


@pytest.mark.slow
def test_joblib_launcher_gives_the_same_numbers_as_the_basic_one(smoke: Path, tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    out = tmp_path / "joblib"
    cells = "gail-cartpole,preference-cartpole"
    proc = run_cli(
        [
            "-m",
            "irlkit.bench",
            "suite=smoke",
            f"out={out}",
            f"cell={cells}",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
        ],
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for cell in cells.split(","):
        a = json.loads((smoke / f"{cell}-seed0" / "eval.json").read_text())
        b = json.loads((out / f"{cell}-seed0" / "eval.json").read_text())
        assert a["returns"] == b["returns"], cell
        assert a["reward_pearson"] == b["reward_pearson"], cell
    assert {(r["algo"], r["env"]) for r in _rows(out)} == {("gail", "cartpole"), ("preference", "cartpole")}


@pytest.mark.slow
def test_report_command_rebuilds_the_same_rows(smoke: Path, tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit.bench.report", str(smoke), "--out", str(tmp_path / "again")], timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Warning" not in proc.stderr, proc.stderr  # runpy's "found in sys.modules" warning, among others
    with open(tmp_path / "again" / "results.csv", newline="") as f:
        again = list(csv.DictReader(f))
    assert again == _rows(smoke)


@pytest.mark.slow
def test_rebuilt_report_lists_killed_runs_as_unfinished(smoke: Path, tmp_path: Path) -> None:
    import shutil

    sweep = tmp_path / "sweep"
    shutil.copytree(smoke, sweep, ignore=shutil.ignore_patterns("report"))
    (sweep / "bc-cartpole-seed0" / "eval.json").unlink()  # killed after writing config.yaml
    early = sweep / "gail-cartpole-seed0"
    for child in early.iterdir():  # killed before irlkit wrote anything: Hydra's .hydra/ only
        if child.name != ".hydra":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    proc = run_cli(["-m", "irlkit.bench.report", str(sweep)], timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 unfinished and 0 failed run(s)" in proc.stderr
    report = (sweep / "report" / "report.md").read_text()
    line = next(row for row in report.splitlines() if row.startswith("- unfinished runs"))
    assert "bc-cartpole-seed0" in line and "gail-cartpole-seed0" in line and ": 2:" in line
    assert f"finished runs: {len(SMOKE_CELLS) - 2}" in report
    assert {(r["algo"], r["env"]) for r in _rows(sweep)} == SMOKE_CELLS - {("bc", "cartpole"), ("gail", "cartpole")}


_WITHOUT_RLIABLE = (
    "import runpy, sys; sys.modules['rliable'] = None  # what an install without the bench extra gives\n"
    "sys.argv = [sys.argv[1], *sys.argv[2:]]; runpy.run_module(sys.argv[0], run_name='__main__')"
)


@pytest.mark.slow
def test_bench_without_its_extra_fails_before_any_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli(["-c", _WITHOUT_RLIABLE, "irlkit.bench", "suite=smoke", f"out={out}"], timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert "irlkit[bench]" in proc.stderr and "rliable" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() or not any(p.name.endswith("-seed0") for p in out.iterdir()), "a run started"
    proc = run_cli(["-c", _WITHOUT_RLIABLE, "irlkit.bench.report", str(tmp_path)], timeout=120)
    assert proc.returncode == 2 and "irlkit[bench]" in proc.stderr and "Traceback" not in proc.stderr


def test_bench_config_typos_fail_before_anything_runs(tmp_path: Path) -> None:
    proc = run_cli(["-m", "irlkit.bench", "suite=smoke", "seeds=abc", f"out={tmp_path}"], timeout=60)
    assert proc.returncode != 0 and "seeds" in proc.stderr
    proc = run_cli(["-m", "irlkit.bench", "suite=nonesuch", f"out={tmp_path}"], timeout=60)
    assert proc.returncode != 0 and "nonesuch" in proc.stderr
    assert not any(tmp_path.iterdir()), "a run started despite the bad config"


@pytest.mark.slow
def test_a_run_whose_config_changed_is_trained_again(smoke: Path) -> None:
    # last of the smoke tests: it retrains bc-cartpole with another learning rate
    bc = smoke / "bc-cartpole-seed0"
    before = json.loads((bc / "eval.json").read_text())
    other = (smoke / "dagger-cartpole-seed0" / "eval.json").stat().st_mtime_ns
    proc = run_cli(
        [
            "-m",
            "irlkit.bench",
            "suite=smoke",
            f"out={smoke}",
            "cell=bc-cartpole",
            "report=false",
            'overrides=["algo.learning_rate=0.003"]',
        ],
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "config changed since it ran" in proc.stdout
    assert "learning_rate: 0.003" in (bc / "config.yaml").read_text()
    assert json.loads((bc / "eval.json").read_text())["wall_s"] != before["wall_s"]
    assert (smoke / "dagger-cartpole-seed0" / "eval.json").stat().st_mtime_ns == other


# ------------------------------------------------------------------------------------------------
# the maths, against hand-computed values
# ------------------------------------------------------------------------------------------------
def test_mean_ci_is_the_student_t_interval() -> None:
    # [1, 2, 3, 4]: mean 2.5, sd sqrt(5/3) = 1.290994, sem 0.645497, t(0.975, df=3) = 3.182446
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    assert half == pytest.approx(3.182446 * 0.645497, rel=1e-5)  # 2.054260
    # one value: no spread to speak of; NaN (a failed normalization) is dropped, not averaged
    assert mean_ci([0.7])[0] == pytest.approx(0.7) and math.isnan(mean_ci([0.7])[1])
    assert mean_ci([1.0, float("nan"), 3.0])[0] == pytest.approx(2.0)


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    # sorted: -50, 0, .5, .6, .7, .8, .9, 100 -> middle four .5 .6 .7 .8 -> 0.65
    assert iqm(np.array([0.0, 0.5, 0.6, 0.7, 0.8, 100.0, -50.0, 0.9])) == pytest.approx(0.65)
    assert iqm(np.arange(1.0, 9.0)) == pytest.approx(4.5)


def test_bootstrap_is_stratified_by_env() -> None:
    # env A always scores 0, env B always 1: resampling seeds *within* each env can never move the
    # mean off 0.5, whereas pooling the four runs would give a wide interval.
    ((point, interval),) = aggregate_scores({"x": np.array([[0.0, 1.0], [0.0, 1.0]])}, reps=2000).values()
    assert point == pytest.approx([0.5, 0.5])
    np.testing.assert_allclose(interval, [[0.5, 0.5], [0.5, 0.5]])


def test_bootstrap_interval_of_the_mean_by_hand() -> None:
    # env A: seeds score 0 and 1; env B: 0.5 and 0.5. A's resampled mean is 0, 0.5 or 1 with
    # probabilities 1/4, 1/2, 1/4; B's is always 0.5. The aggregate mean is then 0.25, 0.5 or 0.75
    # (1/4, 1/2, 1/4), so its 95% percentile interval is exactly [0.25, 0.75].
    ((point, interval),) = aggregate_scores({"x": np.array([[0.0, 0.5], [1.0, 0.5]])}, reps=4000).values()
    assert point[0] == pytest.approx(0.5)
    assert interval[0][0] == pytest.approx(0.25) and interval[1][0] == pytest.approx(0.75)


def _rec(algo: str, env: str, seed: int, score: float, ret: float = 0.0) -> RunRecord:
    return RunRecord(
        algo=algo,
        env=env,
        seed=seed,
        return_mean=ret,
        return_std=0.0,
        normalized_score=score,
        demo_return=1.0,
        random_return=0.0,
        env_steps=0,
        budget=1,
        budget_unit="batches",
        wall_s=0.0,
        run_dir="",
    )


def test_score_matrix_keeps_equal_seeds_per_env_and_drops_nan() -> None:
    recs = [_rec("bc", "a", s, v) for s, v in [(0, 0.1), (1, 0.2), (2, 0.3)]]
    recs += [_rec("bc", "b", s, v) for s, v in [(1, 0.9), (0, 0.8)]]
    recs += [_rec("bc", "c", 0, float("nan"))]
    matrices, envs = score_matrices(recs)
    assert envs["bc"] == ["a", "b"]
    np.testing.assert_allclose(matrices["bc"], [[0.1, 0.8], [0.2, 0.9]])  # seeds 0 and 1 of each env


def test_cell_table_prints_mean_ci_and_seed_count() -> None:
    recs = [_rec("gail", "cartpole", s, v) for s, v in enumerate([1.0, 2.0, 3.0, 4.0])]
    lines = cell_table(recs, "normalized_score", ["gail"], ["cartpole", "pendulum"])
    assert lines[2] == "| gail | 2.50 ± 2.05 (n=4) |  |"


def test_a_finished_run_is_reused_only_with_the_same_settings() -> None:
    from irlkit.bench.__main__ import same_settings

    ran = "algo:\n  name: gail\n  ppo:\n    n_steps: 256\nseed: 0\n"
    assert same_settings(ran, ran)
    # a setting added to a schema after the run (it could not record it) is not a change
    assert same_settings(ran, ran + "torch_threads: 1\n")
    assert not same_settings(ran, ran.replace("256", "128"))  # a changed value
    assert not same_settings(ran + "select:\n  operator: alice\n", ran)  # a setting gone


def test_bootstrap_intervals_are_reproducible() -> None:
    scores = {"a": np.random.RandomState(1).rand(3, 4), "b": np.random.RandomState(2).rand(3, 4)}
    first = aggregate_scores(scores, reps=2000, seed=7)
    state = np.random.get_state()[1].copy()
    again = aggregate_scores(scores, reps=2000, seed=7)
    for algo in scores:
        np.testing.assert_array_equal(first[algo][1], again[algo][1])
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # the caller's global RNG is left alone


# ------------------------------------------------------------------------------------------------
# every shipped suite: each cell composes into the training config its job would train
# ------------------------------------------------------------------------------------------------
def _suite_names() -> list[str]:
    from irlkit.cli.app import config_dir
    from irlkit.cli.overrides import group_options

    return group_options(config_dir(), "suite")


@pytest.mark.parametrize("suite", _suite_names())
def test_every_cell_of_a_shipped_suite_composes(suite: str) -> None:
    """A typo in a suite file (a cell's algo or env, an override key) fails here, not hours into a
    sweep on a cluster. Composing needs no env packages: mujoco may be absent."""
    import irlkit.bench.__main__  # noqa: F401  (registers the cell-list resolver conf/bench.yaml uses)
    from irlkit.bench.suites import split_cell, training_overrides

    bench = compose_config("bench", [f"suite={suite}"])
    assert bench.suite.name == suite and int(bench.suite.seeds) >= 1
    for name, cell in bench.suite.cells.items():
        algo, env = split_cell(name)
        overrides = training_overrides(bench.suite, cell, algo=algo, env=env, seed=0, extra=[])
        config = run_config(overrides)
        assert config.algo.name == algo and config.env.name == env, name
        if int(cell.budget) > 0:
            assert int(config.algo.budget) == int(cell.budget), name
