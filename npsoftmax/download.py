"""``python -m npsoftmax.download``: get Fashion-MNIST into the data home and verify it (see :mod:`npsoftmax.data`).

Exit status 0 when the data is ready, 1 when no source delivered it (the message lists every source tried and
how to get the files by hand), 2 on a usage error, 128 + the signal's number when interrupted (Ctrl-C, SIGTERM,
...), which leaves no partial file under a final name.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli import (
    ArgumentParser,
    UsageError,
    check_data_home,
    data_home_here,
    environment_help,
    guarded_output,
    log_messages_to,
    mirror,
    paragraphs,
    program_name,
)
from ._run import exit_status
from ._signals import stop_on_signals
from .data import (
    DATA_ENV,
    MIRRORS_ENV,
    SYSTEM_DIR,
    DataUnavailableError,
    fetch,
    get_data_home,
    mirrors_from_env,
)

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m npsoftmax.download`` and ``npsoftmax-download``; returns the exit status."""
    with stop_on_signals(), guarded_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    prog = program_name("npsoftmax.download")
    parser = ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        description=paragraphs(
            "Get Fashion-MNIST and verify it against pinned SHA-256 checksums of its content.",
            "Exit status: 0 the data is ready, 1 no source delivered it (the message lists every source tried and "
            "how to get the files by hand), 2 a usage error, 128 + n stopped by signal n (Ctrl-C: 130).",
        ),
        epilog=environment_help((DATA_ENV, MIRRORS_ENV)),
    )
    parser.add_argument("--data-dir", metavar="DIR", help=f"the data home (default: {data_home_here()})")
    parser.add_argument(
        "--mirror",
        action="append",
        type=mirror,
        metavar="URL_OR_DIR",
        help=f"an http(s) base URL or a folder to take the files from; repeatable, tried in order. Replaces "
        f"the defaults ({SYSTEM_DIR}, then the upstream mirrors), as does {MIRRORS_ENV}=A,B",
    )
    parser.add_argument("--force", action="store_true", help="take the files from the sources again")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, no messages except errors")
    try:
        args = parser.parse_args(argv)
        check_data_home(args.data_dir)
        try:
            mirrors = args.mirror or mirrors_from_env()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        with log_messages_to(sys.stderr, args.quiet):
            source = fetch(root=args.data_dir, mirrors=mirrors, force=args.force, quiet=args.quiet or None).source
        home = get_data_home(args.data_dir)
    except (UsageError, DataUnavailableError, KeyboardInterrupt) as exc:
        kept = "no partial file was left under a final name"
        return exit_status(prog, exc, None, False, before="the data was ready", kept=kept)
    if not args.quiet:
        print(f"Fashion-MNIST is ready in {home} (from {source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
