"""`python -m irlkit.demos`: list, inspect, check, import, export, filter, remove, recover and generate demos.

Every subcommand works on the demos store (see docs/store.md). Users and scripts rely on the
subcommand and option names; change them only with a deprecation path.
"""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from irlkit.errors import IrlkitError, StoreError
from irlkit.store import DemoStore, EpisodeMeta, check_name

PROG = "python -m irlkit.demos"

DESCRIPTION = """\
Manage the demos store: the datasets of demonstrations every irlkit algorithm learns from.

The store is a folder of datasets: $IRLKIT_DEMOS if set, else the demos/ folder of a source
checkout, else ~/.local/share/irlkit/demos; --root DIR overrides all of them. Dataset names
are plain names (letters, digits, '_', '-', '.'); the datasets shipped with irlkit are always
readable by name."""

EPILOG = """\
examples:
  python -m irlkit.demos ls
  python -m irlkit.demos show cartpole_expert
  python -m irlkit.demos generate cartpole my_cartpole --episodes 20 --policy expert
  python -m irlkit.demos filter my_teleop good_runs --operator alice --min-return 400
  python -m irlkit.demos import --format npz expert_cartpole.npz cartpole_sb3 --env cartpole
  python -m irlkit.demos export --format imitation cartpole_expert /tmp/cartpole_hf
  python -m irlkit.demos recover cartpole_corrections

Run `python -m irlkit.demos COMMAND --help` for each command's options."""


# ------------------------------------------------------------------------------------------------
# output helpers
# ------------------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.1f}"
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _table(headers: Sequence[str], rows: list[Sequence[Any]], out: Callable[[str], None] = print) -> None:
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in cells:
        out("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _store(args: argparse.Namespace) -> DemoStore:
    """The store, after checking every dataset name given: names are plain identifiers, so a name
    can never reach outside the root (use --root for datasets elsewhere)."""
    for attr in ("name", "new"):
        if isinstance(getattr(args, attr, None), str):
            check_name(getattr(args, attr))
    return DemoStore(getattr(args, "root", None))


def _progress() -> bool:
    return sys.stderr.isatty()


# ------------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------------
def cmd_ls(args: argparse.Namespace) -> int:
    store = _store(args)
    names = store.names()
    print(f"demos store: {store.root}")
    if not names:
        print("no datasets; make one with `python -m irlkit.demos generate ENV NAME --episodes N`")
        return 0
    rows = []
    for name in names:
        try:
            s = store.open(name).summary()
        except StoreError as err:
            rows.append([name, "?", "?", "?", "?", "?", f"unreadable: {str(err)[:60]}"])
            continue
        rows.append([name, s["env_id"], s["episodes"], s["steps"], s["mean_return"], s["sources"], s["operators"]])
    _table(["name", "env", "episodes", "steps", "mean return", "sources", "operators"], rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    ds = _store(args).open(args.name)
    if args.all:
        ds = ds.select(include_discarded=True)
    s = ds.summary()
    info = ds.info
    print(f"dataset:      {s['name']}  ({ds.path})")
    print(f"env:          {s['env_id']}")
    print(f"spaces:       observation {s['observation_space']}, action {s['action_space']}")
    print(f"schema:       version {info.get('schema_version')}, created {info.get('created_utc')} by irlkit "
          f"{info.get('irlkit_version')}")
    print(f"episodes:     {s['episodes']} ({s['steps']} steps, {s['segments']} segments)")
    if s["segments"] > 100:
        print(f"              (many segments load slower: `{PROG} compact {s['name']}` merges them)")
    if s["episodes"]:
        print(f"return:       {s['mean_return']:.2f} ± {s['std_return']:.2f}")
    print(f"sources:      {_fmt(s['sources'])}")
    print(f"operators:    {_fmt(s['operators'])}")
    for j in ds.journals():
        state = ("being written now" if j.live
                 else f"left by a writer that stopped: `{PROG} recover {s['name']}` stores it")
        print(f"unfinished:   episode {j.episode_id} ({j.steps} steps, operator {_fmt(j.operator)}), {state}")
    if s["description"]:
        print("description:")
        print(textwrap.indent(textwrap.fill(s["description"], 96), "  "))
    if not s["episodes"]:
        return 0
    print()
    rows = []
    for k, m in enumerate(ds.metas):
        end = "terminated" if m.terminated else "truncated" if m.truncated else "-"
        rows.append([k, m.episode_id, m.source, m.operator, m.device, m.seed, m.length, m.episode_return, end,
                     "discarded" if m.discarded else "", (m.started_utc or "")[:19]])
    if args.limit and len(rows) > args.limit:
        hidden = len(rows) - args.limit
        rows = rows[: args.limit]
    else:
        hidden = 0
    _table(["#", "id", "source", "operator", "device", "seed", "steps", "return", "end", "", "started (UTC)"], rows)
    if hidden:
        print(f"... and {hidden} more episodes (--limit 0 shows all)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    ds = _store(args).open(args.name)
    if args.all:
        ds = ds.select(include_discarded=True)
    problems = ds.validate()
    if problems:
        print(f"dataset {ds.name!r} ({ds.path}) has {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"dataset {ds.name!r} is sound: {len(ds)} episodes, {ds.num_steps} steps, every checksum matches")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from irlkit.store.interop import import_dataset

    ds = import_dataset(_store(args), args.format, args.src, args.name, env=args.env, description=args.description or "",
                        progress=_progress())
    print(f"imported {len(ds)} episodes ({ds.num_steps} steps) from {args.src} into {ds.name!r} ({ds.path})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from irlkit.store.interop import export_dataset

    ds = _store(args).open(args.name)
    dst = export_dataset(ds, args.format, args.dst, progress=_progress())
    print(f"exported {len(ds)} episodes of {ds.name!r} to {dst} ({args.format} format)")
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    store = _store(args)
    ds = store.open(args.name)
    view = ds.select(operator=args.operator, source=args.source, min_return=args.min_return,
                     max_return=args.max_return)
    if len(view) == 0:
        raise StoreError(
            f"no episode of {ds.name!r} matches the selection (operator={args.operator}, source={args.source}, "
            f"min-return={args.min_return}, max-return={args.max_return}); nothing written"
        )
    conditions = ", ".join(f"{k}={v}" for k, v in (("operator", args.operator), ("source", args.source),
                                                   ("min_return", args.min_return), ("max_return", args.max_return))
                           if v is not None)
    new = store.create(args.new, env_id=ds.env_id, observation_space=ds.observation_space,
                       action_space=ds.action_space, env_spec=ds.env_spec,
                       description=f"Episodes of {ds.name} where {conditions}. {ds.description}".strip())
    episodes = list(view.episodes())
    for ep in episodes:
        ep.meta = EpisodeMeta.from_json(ep.meta.to_json())  # keep ids and provenance as they were
    new.append_episodes(episodes)
    print(f"wrote {len(new)} of {len(ds)} episodes ({new.num_steps} steps) to {new.name!r} ({new.path})")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    store = _store(args)
    ds = store.open(args.name)
    if not (store.root / args.name / "dataset.json").exists():
        raise StoreError(
            f"dataset {args.name!r} is not in the store root {store.root} (it is shipped with irlkit at {ds.path}); "
            "shipped datasets are not removed"
        )
    if not args.yes:
        if not sys.stdin.isatty():
            raise StoreError(f"refusing to remove {args.name!r} without confirmation; pass --yes to remove it")
        answer = input(f"remove dataset {args.name!r} ({len(ds)} episodes, {ds.num_steps} steps) at {ds.path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 1
    path = store.remove(args.name)
    print(f"removed {args.name!r} ({path})")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    ds = _store(args).open(args.name)
    merged = ds.compact()
    print(f"merged {merged} segments of {ds.name!r} into one" if merged else f"{ds.name!r} is already one segment")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    ds = _store(args).open(args.name)
    live = [j for j in ds.journals() if j.live]
    ids = ds.recover()
    metas = {m.episode_id: m for m in ds.select(include_discarded=True).metas}
    for episode_id in ids:
        m = metas[episode_id]
        note = " (discarded: a half-recorded demonstration; `show --all` lists it)" if m.discarded else ""
        print(f"recovered episode {episode_id}: {m.length} steps, operator {_fmt(m.operator)}, source {m.source}{note}")
    if live:
        print(f"left alone: {len(live)} episode(s) being recorded right now")
    if not ids:
        print(f"nothing to recover in {ds.name!r}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from irlkit.envs import env_spec_json, make_env, resolve_env_config
    from irlkit.experts import RandomPolicy, TabularSoftPolicy, load_or_train_expert, record_policy_episodes

    if args.episodes < 1:
        raise IrlkitError("--episodes must be at least 1")
    cfg = resolve_env_config(args.env)
    env = make_env(cfg)
    source = "policy"
    if args.policy == "random":
        policy: Any = RandomPolicy(env.action_space, seed=args.seed)
    elif cfg.tabular:
        policy, source = TabularSoftPolicy(env, seed=args.seed), "script"
    else:
        policy = load_or_train_expert(cfg, seed=args.train_seed, progress=True)
    store = _store(args)
    ds = store.create(args.name, env_id=cfg.id, observation_space=env.observation_space,
                      action_space=env.action_space, env_spec=env_spec_json(env), exist_ok=True,
                      description=f"Generated with `{PROG} generate` ({args.policy} policy on {cfg.id}).")
    env.close()
    episodes = record_policy_episodes(cfg, policy, args.episodes, seed=args.seed, source=source,
                                      deterministic=not args.stochastic, progress=True,
                                      notes=f"{PROG} generate --policy {args.policy}")
    ds.append_episodes(episodes)
    returns = [ep.episode_return for ep in episodes]
    print(f"added {len(episodes)} episodes ({sum(len(e) for e in episodes)} steps, mean return "
          f"{sum(returns) / len(returns):.1f}) to {ds.name!r} ({ds.path}); it now holds {len(ds)} episodes")
    return 0


# ------------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", type=Path, default=argparse.SUPPRESS,
                        help="the store's folder (default: $IRLKIT_DEMOS, the checkout's demos/, or "
                             "~/.local/share/irlkit/demos)")
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, parents=[common],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_, description=description,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    add("ls", cmd_ls, "list datasets with env, episodes, steps, mean return, sources, operators",
        "List the datasets in the store (and those shipped with irlkit): env, episodes, steps, mean\n"
        "return, sources and operator pseudonyms.")

    p = add("show", cmd_show, "a dataset's metadata and a per-episode table",
            "Show a dataset's metadata (env, spaces, schema version, counts, description) and one row per\n"
            "episode: id, source, operator, device, seed, steps, return, how it ended, start time.")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("--limit", type=int, default=50, help="episodes to list (default 50; 0 lists all)")
    p.add_argument("--all", action="store_true", help="include discarded episodes")

    p = add("validate", cmd_validate, "check a dataset; exit 0 when sound, 1 with the reasons otherwise",
            "Check every file's checksum and every episode: lengths, NaN/inf, observations and actions\n"
            "outside their spaces, stored returns. Exits 0 when sound; otherwise prints each problem\n"
            "(naming the episode and field) and exits 1.")
    p.add_argument("name", metavar="NAME", help="dataset name")
    p.add_argument("--all", action="store_true", help="also check discarded episodes")

    p = add("import", cmd_import, "import a Minari, imitation or .npz dataset as a new dataset",
            "Import another toolkit's demonstrations as a new dataset (episodes get source 'import').\n"
            "  minari     a Minari dataset folder (HDF5 backend; needs pip install 'irlkit[minari]')\n"
            "  imitation  a folder written by imitation.data.serialize.save (infos are kept only when\n"
            "             they are plain JSON: nothing is unpickled or jsonpickle-decoded)\n"
            "  npz        imitation's legacy .npz (obs, acts, terminal, rews, indices) or an SB3-era\n"
            "             expert .npz (obs, actions, rewards, episode_starts, episode_returns); the\n"
            "             latter has no final observation, so the last one is repeated and\n"
            "             meta.extra['final_obs_missing'] is set")
    p.add_argument("--format", required=True, choices=["minari", "imitation", "npz"], help="the source's format")
    p.add_argument("src", metavar="SRC", help="the file or folder to import")
    p.add_argument("name", metavar="NAME", help="name of the new dataset")
    p.add_argument("--env", metavar="ENV_ID", help="env config name (cartpole, ...) or gymnasium id; required "
                   "when the source does not name its env (imitation, npz)")
    p.add_argument("--description", help="the new dataset's description")

    p = add("export", cmd_export, "export a dataset to Minari or imitation format",
            "Write a dataset in another toolkit's format; every array round-trips exactly.\n"
            "  minari     a Minari dataset folder (HDF5, no JPEG); move it into ~/.minari/datasets/ to\n"
            "             load it by id\n"
            "  imitation  imitation.data.serialize.save's folder (load with serialize.load), plus an\n"
            "             irlkit.json file keeping each episode's metadata")
    p.add_argument("--format", required=True, choices=["minari", "imitation"], help="the target format")
    p.add_argument("name", metavar="NAME", help="dataset to export")
    p.add_argument("dst", metavar="DST", help="folder to create (must not exist)")

    p = add("filter", cmd_filter, "copy the episodes matching operator/source/return into a new dataset",
            "Copy the episodes that match every given condition into a new dataset, keeping their ids\n"
            "and metadata. --operator and --source may be repeated (any of them matches).")
    p.add_argument("name", metavar="NAME", help="dataset to read")
    p.add_argument("new", metavar="NEW", help="name of the new dataset")
    p.add_argument("--operator", action="append", help="operator pseudonym to keep (repeatable)")
    p.add_argument("--source", action="append", choices=["teleop", "policy", "script", "import", "correction"],
                   help="source to keep (repeatable)")
    p.add_argument("--min-return", type=float, help="keep episodes whose return is at least this")
    p.add_argument("--max-return", type=float, help="keep episodes whose return is at most this")

    p = add("rm", cmd_rm, "remove a dataset (asks first unless --yes)",
            "Remove a dataset from the store root. Asks for confirmation unless --yes is given (without a\n"
            "terminal to ask on, --yes is required). Shipped datasets are never removed.")
    p.add_argument("name", metavar="NAME", help="dataset to remove")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")

    p = add("compact", cmd_compact, "merge a dataset's segments into one (faster loading)",
            "Merge all segments of a dataset into one and clear leftovers of killed writers. Readers\n"
            "may keep reading while it runs.")
    p.add_argument("name", metavar="NAME", help="dataset to compact")

    p = add("recover", cmd_recover, "store the unfinished episodes that killed writers left in a dataset",
            "Correction sessions (and any writer using Dataset.start_episode) log each step of the episode\n"
            "in progress in the dataset's journal/ folder, so a killed process loses nothing. This stores\n"
            "what such a process left as episodes: truncated, with meta.extra.recovered = true (stored as\n"
            "discarded when the writer asked for that). Episodes being written right now are left alone,\n"
            "and nothing is stored twice. Correction sessions also do this when they start.")
    p.add_argument("name", metavar="NAME", help="dataset to recover")

    p = add("generate", cmd_generate, "roll out an expert (trained or cached) or random policy into a dataset",
            "Roll out a policy into a dataset (created, or appended to when it exists with the same\n"
            "spaces), so users without human demos can start. --policy expert uses the expert shipped\n"
            "with irlkit for the env, else one cached in ~/.cache/irlkit/experts, else trains one with\n"
            "stable-baselines3 (minutes on a laptop CPU) and caches it. Tabular envs (cliff_world) use\n"
            "their exact soft-optimal policy. Episode k is reset with seed SEED+k.")
    p.add_argument("env", metavar="ENV", help="env config name (cartpole, pendulum, ...) or gymnasium id")
    p.add_argument("name", metavar="NAME", help="dataset to create or append to")
    p.add_argument("--episodes", type=int, required=True, metavar="N", help="episodes to record")
    p.add_argument("--policy", choices=["expert", "random"], default="expert", help="which policy (default expert)")
    p.add_argument("--seed", type=int, default=0, help="first episode's reset seed (default 0)")
    p.add_argument("--train-seed", type=int, default=0, help="seed for training the expert if none is cached")
    p.add_argument("--stochastic", action="store_true", help="sample the expert's actions instead of taking the "
                   "most likely one")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IrlkitError as err:
        print(f"irlkit.demos: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("irlkit.demos: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
