"""python -m app: start the server (127.0.0.1:8000 unless told otherwise)."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from .security import READ_ONLY_ENV
from .store import DATA_DIR_ENV


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app", description="Serve the LSTM visualiser.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--read-only", action="store_true", help="turn off uploads, deletes and training (for a public demo)"
    )
    parser.add_argument("--data-dir", help="folder of the model store (default ./data, or $LSTMVIS_DATA_DIR)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Settings travel by environment so that every worker process sees them.
    if args.read_only:
        os.environ[READ_ONLY_ENV] = "1"
    if args.data_dir:
        os.environ[DATA_DIR_ENV] = args.data_dir
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        # Printed, not logged: uvicorn has not set up logging yet, and this must be seen.
        print(
            f"WARNING: binding {args.host}: the visualiser is reachable from other machines "
            "(use --read-only for a public demo)",
            file=sys.stderr,
        )
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)


if __name__ == "__main__":
    main()
