"""`python -m irlkit.feedback {queue,label,stats}`: preference datasets without a training run.

    queue  roll out a policy and save pairs of fragments for people to label later
    label  serve a saved queue on the labelling page (several annotators may label the same pairs)
    stats  per-annotator statistics and agreement (Cohen's kappa) of a preference dataset

Train from the labels afterwards with
`python -m irlkit algo=preference feedback=dataset feedback.dataset=NAME [feedback.annotators=[a,b]]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from irlkit.errors import IrlkitError

_ROOT_HELP = "the store's folder (default: $IRLKIT_DEMOS, the checkout's demos/, or ~/.local/share/irlkit/demos)"


def _cmd_queue(args: argparse.Namespace) -> int:
    from imitation.algorithms import preference_comparisons as pc
    from imitation.data import rollout

    from irlkit.envs import make_venv, resolve_env_config
    from irlkit.feedback.gatherer import to_fragment
    from irlkit.store.episode import utc_now
    from irlkit.store.preferences import create_preferences

    if args.pairs < 1 or args.fragment_length < 1:
        raise IrlkitError("--pairs and --fragment-length must be at least 1")
    env_cfg = resolve_env_config(args.env)
    venv = make_venv(env_cfg, seed=args.seed, n_envs=1)
    rng = np.random.default_rng(args.seed)
    policy = None
    if args.policy != "random":
        from irlkit.policies import load_policy

        run = Path(args.policy)
        if not (run / "policy.json").exists() and not (run / "config.yaml").exists():
            raise IrlkitError(
                f"--policy {args.policy}: give 'random' or a run folder holding policy.json and policy.zip"
            )
        policy = load_policy(run)
    spec = getattr(venv.envs[0], "spec", None) if hasattr(venv, "envs") else None
    horizon = getattr(spec, "max_episode_steps", None)
    if horizon is not None and args.fragment_length > horizon:
        venv.close()
        raise IrlkitError(
            f"--fragment-length {args.fragment_length} is longer than an episode of {env_cfg.id}, which ends after at "
            f"most {horizon} steps: a fragment is a stretch of one episode. Give --fragment-length {horizon} or less "
            "(50 is the default; the page plays a pair side by side, and a few seconds is what people judge well)."
        )
    steps = 2 * args.pairs * args.fragment_length
    trajs = rollout.generate_trajectories(policy, venv, rollout.make_sample_until(min_timesteps=steps), rng=rng)
    venv.close()
    longest = max(len(t) for t in trajs)
    if longest < args.fragment_length:
        raise IrlkitError(
            f"--fragment-length {args.fragment_length} is longer than every episode the {args.policy} policy played on "
            f"{env_cfg.id} ({len(trajs)} episodes, the longest {longest} steps): a fragment is a stretch of one "
            f"episode. Give --fragment-length {longest} or less, or a policy whose episodes last longer (--policy RUN)."
        )
    fragmenter = pc.RandomFragmenter(rng=rng, warning_threshold=0)
    pairs = fragmenter(trajs, args.fragment_length, args.pairs)
    ds = create_preferences(
        args.name,
        env_id=env_cfg.id,
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        env_config=dataclasses.asdict(env_cfg),
        root=args.root,
        description=f"Pairs queued from a {args.policy} policy for labelling later.",
    )
    ids = ds.add_pairs(
        [(to_fragment(a), to_fragment(b)) for a, b in pairs],
        run=f"queue-{utc_now()}",
        iteration=0,
        extra={"policy": str(args.policy), "seed": args.seed},
    )
    print(
        f"queued {len(ids)} pairs of {args.fragment_length} steps in {ds.path}; label them with "
        f"`python -m irlkit.feedback label {ds.name}`"
    )
    return 0


def _cmd_label(args: argparse.Namespace) -> int:
    from irlkit.envs import EnvConfig, resolve_env_config
    from irlkit.feedback.gatherer import start_labelling
    from irlkit.store.episode import check_operator
    from irlkit.store.preferences import open_preferences

    ds = open_preferences(args.name, root=args.root)
    if args.annotator:
        check_operator(args.annotator)
    known = {f.name for f in dataclasses.fields(EnvConfig)}
    stored = {k: v for k, v in ds.env_config.items() if k in known}
    env_cfg = EnvConfig(**stored) if stored else resolve_env_config(ds.env_id)
    pair_ids = [p.pair_id for p in ds.pairs()]
    if not pair_ids:
        raise IrlkitError(
            f"preference dataset {ds.name!r} holds no pairs; queue some with `python -m irlkit.feedback queue`"
        )
    clip_dir = Path(args.clips) if args.clips else Path(tempfile.mkdtemp(prefix="irlkit-clips-"))
    session, server, worker = start_labelling(
        ds,
        env_cfg,
        clip_dir,
        each_annotator=True,
        annotator=args.annotator,
        host=args.host,
        port=args.port,
        clip_fps=args.fps,
        clip_format=args.format,
    )
    if args.annotator:  # only render what this person still has to label
        done = {p for (p, a) in ds.latest_labels(annotators=[args.annotator])}
        pair_ids = [p for p in pair_ids if p not in done]
    session.offer(pair_ids, message="")
    print(f"Open the labelling page: {server.url}  ({len(pair_ids)} pairs in {ds.name}; Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(0.5)
            if args.annotator and session.progress(args.annotator)["labelled"] >= len(pair_ids):
                session.finish(
                    f"You have labelled all {len(pair_ids)} pairs of {ds.name}. Thank you! You can close this page."
                )
                print(f"{args.annotator} labelled all {len(pair_ids)} pairs", flush=True)
                time.sleep(1.0)  # let the page's open request see the done state
                break
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the way to end a session without --annotator
        from irlkit.signals import interrupted_message

        print(f"{interrupted_message()}; every label given so far is saved", file=sys.stderr)
    finally:
        server.stop()
        worker.close()
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from irlkit.feedback.stats import agreement, annotator_stats, format_stats
    from irlkit.store.preferences import open_preferences

    ds = open_preferences(args.name, root=args.root)
    if args.json:

        def nan_to_none(rows: list[dict]) -> list[dict]:
            return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]

        print(
            json.dumps(
                {
                    "summary": ds.summary(),
                    "annotators": nan_to_none(annotator_stats(ds)),
                    "agreement": nan_to_none(agreement(ds)),
                },
                indent=1,
            )
        )
    else:
        print(format_stats(ds))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m irlkit.feedback",
        description="Preference datasets: queue pairs, label them in the browser, look at who labelled what.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python -m irlkit.feedback queue cartpole_pairs --env cartpole --pairs 40 --fragment-length 50\n"
        "  python -m irlkit.feedback label cartpole_pairs --annotator alice\n"
        "  python -m irlkit.feedback stats cartpole_pairs\n"
        "  python -m irlkit algo=preference feedback=dataset feedback.dataset=cartpole_pairs\n",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("queue", help="roll out a policy and save pairs of fragments to label later")
    p.add_argument("name", metavar="NAME", help="preference dataset to create or add to")
    p.add_argument("--env", required=True, help="env config name (cartpole, ...) or gymnasium id")
    p.add_argument("--pairs", type=int, default=40, help="pairs to queue (default 40)")
    p.add_argument("--fragment-length", type=int, default=50, help="steps per fragment (default 50)")
    p.add_argument("--policy", default="random", help="'random' (default) or a training run folder (its policy.zip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--root", default=None, metavar="DIR", help=_ROOT_HELP)
    p.set_defaults(func=_cmd_queue)

    p = sub.add_parser("label", help="serve a saved queue on the labelling page")
    p.add_argument("name", metavar="NAME", help="preference dataset to label")
    p.add_argument(
        "--annotator",
        default=None,
        help="your alias; the command ends when you labelled every pair "
        "(without it, the page asks each visitor and serves until Ctrl-C)",
    )
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1 or ::1)")
    p.add_argument("--fps", type=float, default=25.0, help="clip frame rate")
    p.add_argument("--format", default="mp4", choices=["mp4", "webp", "gif"], help="clip format (default mp4)")
    p.add_argument("--clips", default=None, metavar="DIR", help="where to write clips (default: a temporary folder)")
    p.add_argument("--root", default=None, metavar="DIR", help=_ROOT_HELP)
    p.set_defaults(func=_cmd_label)

    p = sub.add_parser("stats", help="per-annotator statistics and agreement (Cohen's kappa)")
    p.add_argument("name", metavar="NAME", help="preference dataset")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--root", default=None, metavar="DIR", help=_ROOT_HELP)
    p.set_defaults(func=_cmd_stats)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    from irlkit import signals

    args = build_parser().parse_args(argv)
    signals.stop_on_signals()
    try:
        return int(args.func(args) or 0)
    except IrlkitError as err:
        print(f"irlkit.feedback: error: {err}", file=sys.stderr)
        return signals.exit_status() if signals.received() is not None else 2
    except KeyboardInterrupt:
        print(f"irlkit.feedback: {signals.interrupted_message()}; every label given so far is saved", file=sys.stderr)
        return signals.exit_status()


if __name__ == "__main__":
    sys.exit(main())
