"""``python -m npsoftmax.download``: fetch Fashion-MNIST and verify it (the machinery is in :mod:`npsoftmax.fetch`).

Exit status 0 when the four files are in place and verified, 1 when no source delivered them (the message
lists every source tried and how to get the files by hand), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._cli import log_messages_to
from .fetch import (
    MIRRORS_ENV,
    SYSTEM_DIR,
    DataUnavailableError,
    _normalize_mirror,
    download_fashion_mnist,
    fashion_mnist_source,
)

__all__ = ["main"]

def main(argv: Sequence[str] | None = None) -> int:
    """``python -m npsoftmax.download``: fetch and verify Fashion-MNIST; exit 0, 1 (no data) or 2 (usage)."""
    parser = argparse.ArgumentParser(
        prog="python -m npsoftmax.download",
        description="Download Fashion-MNIST and verify it against pinned SHA-256 checksums.",
    )
    parser.add_argument(
        "--data-dir",
        type=_data_dir_arg,
        default=Path("data/fashion-mnist"),
        metavar="DIR",
        help="folder for the files (default: data/fashion-mnist)",
    )
    parser.add_argument(
        "--mirror",
        action="append",
        type=_mirror_arg,
        metavar="URL_OR_DIR",
        help=f"an http(s) base URL or a local folder to take the files from; repeatable, tried in order. "
        f"Replaces the defaults ({SYSTEM_DIR}, then the upstream mirrors), as does {MIRRORS_ENV}=A,B",
    )
    parser.add_argument(
        "--force", action="store_true", help="fetch again even when verified files are present"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars, no messages except errors")
    args = parser.parse_args(argv)

    try:
        with log_messages_to(sys.stderr, args.quiet):
            root = download_fashion_mnist(
                args.data_dir, args.mirror, force=args.force, quiet=True if args.quiet else None
            )
            source = fashion_mnist_source(root)
    except DataUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad NPSOFTMAX_MIRRORS: the command-line arguments are checked by argparse
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a data dir we may not write to
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; no partial file was left under a final name", file=sys.stderr)
        return 130
    if not args.quiet:
        print(f"Fashion-MNIST is ready in {root} (from {source})")
    return 0


def _data_dir_arg(value: str) -> Path:
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} exists and is not a folder")
    return path


def _mirror_arg(value: str) -> str:
    try:
        return _normalize_mirror(value, "--mirror")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


if __name__ == "__main__":
    sys.exit(main())
