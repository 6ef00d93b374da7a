"""`python -m irlkit.bench.report DIR [--out DIR] [--title T]`: rebuild a benchmark report from run folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from irlkit.bench.report import check_report_extras, collect_runs, write_report
from irlkit.errors import IrlkitError


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m irlkit.bench.report",
        description="Rebuild a benchmark report (results.csv, report.md, plots) from the run folders under DIR.",
    )
    parser.add_argument("sweep_dir", type=Path, help="a bench output folder, or any folder of run folders")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default DIR/report)")
    parser.add_argument("--title", default="Benchmark report")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"irlkit.bench.report: error: {args.sweep_dir} is not a folder", file=sys.stderr)
        return 2
    try:
        check_report_extras()
    except IrlkitError as err:
        print(f"irlkit.bench.report: error: {err}", file=sys.stderr)
        return 2
    path = write_report(args.sweep_dir, args.out, title=args.title)
    _, status = collect_runs(args.sweep_dir)
    if status.unfinished or status.failed:
        print(
            f"irlkit.bench.report: {len(status.unfinished)} unfinished and {len(status.failed)} failed run(s) are "
            "listed in the report, not counted",
            file=sys.stderr,
        )
    print(f"report in {path}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
