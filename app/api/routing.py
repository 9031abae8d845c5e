"""The route class every API router uses: one place for what happens to a request before its endpoint.

Routers are made with `APIRouter(..., route_class=Route)`, so a change here (how JSON bodies
are parsed, budgets, cancellation) reaches every endpoint at once.
"""

from __future__ import annotations

from fastapi.routing import APIRoute


class Route(APIRoute):
    """FastAPI's route; the hardening of request handling lives here."""
