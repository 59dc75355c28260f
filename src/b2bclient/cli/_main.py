"""Entry point of the ``b2bclient`` command line: options, exit statuses and user errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from b2bclient._exceptions import B2BClientError, InvalidTablesError

__all__ = ["EXIT_FAILED_SECTIONS", "EXIT_INVALID_DATA", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_INVALID_DATA = 1
EXIT_USAGE = 2
EXIT_FAILED_SECTIONS = 3

_EXIT_STATUSES = """\
exit status:
  0  success
  1  the data are invalid; the problems are listed by table, column, check and ids
  2  usage error: an unknown option, a bad value (such as --as-of), a source that cannot be
     read or an output directory that cannot be written; nothing was computed
  3  the report was written, but some analyses failed; they are named in the report and
     the summary
"""

_SOURCE_HELP = (
    "the client base: a directory of <table>.parquet or <table>.csv files, a SQLite file, or a "
    "SQLAlchemy URL such as postgresql+psycopg://user@host/crm"
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    from b2bclient import __version__

    parser = argparse.ArgumentParser(
        prog="b2bclient",
        description="Analytics for B2B client data: validate a client base and write an HTML "
        "report of its features, churn risk and value.",
        epilog=_EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"b2bclient {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=description,
            epilog=_EXIT_STATUSES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def output_options(sub: argparse.ArgumentParser, default: str) -> None:
        sub.add_argument(
            "-o",
            "--out",
            type=Path,
            default=Path(default),
            metavar="DIR",
            help=f"directory for report.html, features.csv and the fitted models; created if "
            f"missing, checked before any work (default: {default})",
        )
        sub.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="show progress bars on standard error (default: when it is a terminal; "
            "needs tqdm, the 'progress' extra)",
        )

    demo = command(
        "demo",
        "run the whole analysis on the built-in synthetic client base",
        "Generate a synthetic client base with planted truth into an embedded SQLite database "
        "(<out>/clients.db), read it back, build the features, fit every model and write a "
        "self-contained HTML report (<out>/report.html) that compares the models with the truth.",
    )
    demo.add_argument(
        "-n",
        "--n-organisations",
        type=_positive,
        default=3_000,
        metavar="N",
        help="number of organisations to generate (default: 3000)",
    )
    demo.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="random seed of the generator and of the train/test split (default: 0)",
    )
    output_options(demo, "b2bclient-demo")

    report = command(
        "report",
        "analyse your own client base as of a date",
        "Read and validate a client base, build the features as of --as-of and write the same "
        "HTML report as the demo: models are fitted at --landmark on what happened between it "
        "and --as-of, and score the clients as of --as-of. Nothing at or after --as-of is read.",
    )
    report.add_argument("source", metavar="SOURCE", help=_SOURCE_HELP)
    report.add_argument(
        "--as-of",
        required=True,
        metavar="DATE",
        help="the report's date (ISO 8601, e.g. 2025-01-01); nothing at or after it is used",
    )
    report.add_argument(
        "--landmark",
        metavar="DATE",
        help="where models are fitted, before --as-of (default: a year before --as-of)",
    )
    report.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="seed of the train/test split (default: 0)",
    )
    output_options(report, "b2bclient-report")

    validate = command(
        "validate",
        "check a client base and list every problem",
        "Read a client base and validate it; print its tables when valid, or every problem "
        "grouped by table, column and check with the offending ids (exit status 1).",
    )
    validate.add_argument("source", metavar="SOURCE", help=_SOURCE_HELP)
    return parser


def main(argv: Sequence[str] | None = None, *, stream: Any = None) -> int:
    """Run the ``b2bclient`` command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.
    stream : file-like, optional
        Where to print; defaults to standard output. Errors go to standard error.

    Returns
    -------
    int
        0 on success, 1 on invalid data, 2 on a usage error, 3 when the report was written but
        some analyses failed (``b2bclient --help`` lists them).

    Examples
    --------
    >>> import io
    >>> main(["report", "clients/", "--as-of", "someday"], stream=io.StringIO())
    2
    """
    from b2bclient.cli._context import Printer
    from b2bclient.cli._html import Report

    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out = Printer(stream if stream is not None else sys.stdout, Report("b2bclient"))
    try:
        if args.command == "validate":
            from b2bclient.cli._report import run_validate

            run_validate(args, out)
            return EXIT_OK
        from b2bclient.cli._source import output_directory, stderr_is_terminal

        progress = stderr_is_terminal() if args.progress is None else args.progress
        if args.command == "report":
            from b2bclient._time import to_timestamp

            # Parameters first, then the output location, then the work.
            to_timestamp(args.as_of, name="as_of", owner="b2bclient report")
            out_dir = output_directory(args.out)
            from b2bclient.cli._report import run_report

            failed = run_report(args, out, progress=progress, out_dir=out_dir)
        else:
            out_dir = output_directory(args.out)
            from b2bclient.cli._demo import run_demo

            failed = run_demo(args, out, progress=progress, out_dir=out_dir)
    except InvalidTablesError as exc:
        from b2bclient.cli._source import describe_problems

        table = describe_problems(exc)
        target = out if args.command == "validate" else Printer(sys.stderr)
        target.write(f"b2bclient {args.command}: {len(exc.problems)} problem(s) in the data:")
        target.write(table.to_string(index=False) if len(table) else str(exc))
        return EXIT_INVALID_DATA
    except B2BClientError as exc:
        Printer(sys.stderr).write(f"b2bclient {args.command}: {type(exc).__name__}: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        Printer(sys.stderr).write(f"b2bclient {args.command}: interrupted")
        return 130
    return EXIT_FAILED_SECTIONS if failed else EXIT_OK
