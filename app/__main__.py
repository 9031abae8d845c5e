"""python -m app: start the server (127.0.0.1:8000 unless told otherwise)."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from . import limits
from .gallery.install import install as install_gallery
from .security import ALLOWED_HOSTS_ENV, LOOPBACK_NAMES, READ_ONLY_ENV
from .store import DATA_DIR_ENV, STORE_BYTES_ENV, StoreFull, get_store

WILDCARDS = ("0.0.0.0", "::", "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve the LSTM visualiser.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--read-only", action="store_true", help="turn off uploads, deletes and training (for a public demo)"
    )
    parser.add_argument("--data-dir", help="folder of the model store (default ./data, or $LSTMVIS_DATA_DIR)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also serve requests for this host name (repeatable; loopback names and --host always are)",
    )
    parser.add_argument(
        "--store-bytes",
        type=int,
        help=f"bytes of saved parameters the model store may hold (default {limits.STORE_BUDGET_BYTES})",
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Settings travel by environment so that every worker process sees them.
    if args.read_only:
        os.environ[READ_ONLY_ENV] = "1"
    if args.data_dir:
        os.environ[DATA_DIR_ENV] = args.data_dir
    if args.store_bytes is not None:
        os.environ[STORE_BYTES_ENV] = str(args.store_bytes)
    hosts = _allowed_hosts(args)
    if hosts:
        os.environ[ALLOWED_HOSTS_ENV] = ",".join(hosts)
    if args.host not in LOOPBACK_NAMES:
        # Printed, not logged: uvicorn has not set up logging yet, and this must be seen.
        print(
            f"WARNING: binding {args.host}: the visualiser is reachable from other machines "
            "(use --read-only for a public demo, and --allow-host NAME for the names clients use)",
            file=sys.stderr,
        )
    # The gallery's trained models go into the store at start, before any worker serves (once per
    # model version: a restart reuses them); GET /api/gallery would install them otherwise.
    try:
        install_gallery(get_store())
    except StoreFull as err:  # the server still starts; the gallery says why it is empty
        print(f"WARNING: the gallery's models were not installed: {err}", file=sys.stderr)
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        timeout_keep_alive=limits.KEEP_ALIVE_SECONDS,
        # A bound on one request's header block (h11). uvicorn has no timeout for reading
        # headers: a public deployment puts a proxy with one in front (README).
        h11_max_incomplete_event_size=limits.MAX_HEADER_BYTES,
    )


def _allowed_hosts(args: argparse.Namespace) -> list[str]:
    """Host names to serve beyond loopback: --host (unless a wildcard), --allow-host, the env's."""
    current = [h for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h]
    named = [] if args.host in WILDCARDS or args.host in LOOPBACK_NAMES else [args.host]
    return list(dict.fromkeys([*current, *named, *args.allow_host]))


if __name__ == "__main__":
    main()
