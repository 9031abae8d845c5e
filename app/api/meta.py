"""GET /api/health and /api/limits."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__, limits
from ..nn.spec import catalogue
from ..security import read_only
from .routing import Route

router = APIRouter(prefix="/api", tags=["meta"], route_class=Route)


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/limits")
def get_limits() -> dict[str, object]:
    """The size limits the server enforces, the cell catalogue (gate order, arrays, what the page draws), the mode."""
    return {
        "read_only": read_only(),
        "limits": limits.as_dict(),
        "cells": catalogue(),
    }
