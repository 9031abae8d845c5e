"""python -m app.gallery [NAME ...]: train the gallery's models from scratch (all, or those named)."""

from __future__ import annotations

import sys

from .build import main

if __name__ == "__main__":
    main(sys.argv[1:])
