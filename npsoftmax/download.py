"""``python -m npsoftmax.download``: get Fashion-MNIST into the data home and verify it (see :mod:`npsoftmax.data`).

Exit status 0 when the data is ready, 1 when no source delivered it (the message lists every source tried and
how to get the files by hand), 2 on a usage error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ._cli import ArgumentParser, log_messages_to, program_name
from .data import (
    MIRRORS_ENV,
    SYSTEM_DIR,
    DataUnavailableError,
    data_source,
    download_fashion_mnist,
    get_data_home,
    mirrors_from_env,
    parse_mirror,
)

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m npsoftmax.download`` and ``npsoftmax-download``; returns the exit status."""
    parser = ArgumentParser(
        prog=program_name("npsoftmax.download"),
        allow_abbrev=False,
        description="Get Fashion-MNIST and verify it against pinned SHA-256 checksums of its content.",
    )
    parser.add_argument("--data-dir", metavar="DIR", help=f"the data home (default: {get_data_home()})")
    parser.add_argument(
        "--mirror",
        action="append",
        type=parse_mirror,
        metavar="URL_OR_DIR",
        help=f"an http(s) base URL or a folder to take the files from; repeatable, tried in order. Replaces "
        f"the defaults ({SYSTEM_DIR}, then the upstream mirrors), as does {MIRRORS_ENV}=A,B",
    )
    parser.add_argument("--force", action="store_true", help="take the files from the sources again")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, no messages except errors")
    args = parser.parse_args(argv)
    if args.data_dir and os.path.exists(args.data_dir) and not os.path.isdir(args.data_dir):
        parser.error(f"--data-dir {args.data_dir} is a file; give a folder (it is created if missing)")
    try:
        mirrors = args.mirror or mirrors_from_env()
    except ValueError as exc:
        parser.error(str(exc))
    try:
        with log_messages_to(sys.stderr, args.quiet):
            home = download_fashion_mnist(args.data_dir, mirrors=mirrors, force=args.force, quiet=args.quiet or None)
            source = data_source(home)
    except DataUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; no partial file was left under a final name", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"Fashion-MNIST is ready in {home} (from {source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
