"""GET /api/health and /api/limits."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__, limits
from ..nn.spec import SPECS
from ..security import read_only
from .routing import Route

router = APIRouter(prefix="/api", tags=["meta"], route_class=Route)


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/limits")
def get_limits() -> dict[str, object]:
    """The size limits the server enforces, each cell's gate order and array names, and the mode."""
    return {
        "read_only": read_only(),
        "limits": limits.as_dict(),
        "cells": {
            name: {"gate_order": list(s.blocks), "arrays": list(s.array_names()), "has_cell_state": s.has_cell_state}
            for name, s in SPECS.items()
        },
    }
