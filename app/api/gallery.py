"""GET /api/gallery: the shipped models, each with its id in the model store (usable as
`model_id` in every trace endpoint), what to look for (en, ko), its verified figures and the
units its mechanism lives in.  The first call in a process installs the gallery into the
store (`gallery/install.py`), so it is there before the page, which asks this first, opens a model."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..gallery import manifest
from ..gallery.examples import example, example_features
from ..gallery.install import config, installed
from .deps import Store
from .routing import Route

router = APIRouter(prefix="/api", tags=["gallery"], route_class=Route)


class Localised(BaseModel):
    en: str
    ko: str


class WatchedUnit(BaseModel):
    layer: int = Field(description="0-based layer")
    quantity: str = Field(description="the array the mechanism lives in (c, i, h, z ...), as the trace names it")
    unit: int = Field(description="0-based unit")
    tracks: str | None = Field(None, description="what the unit tracks, when a model has several")


class GalleryModel(BaseModel):
    model_id: str = Field(description="the saved model's id: usable as model_id in /api/forward, /api/backward ...")
    name: str
    task: str
    cell: str
    title: Localised
    what_to_look_for: Localised
    metrics: dict[str, float] = Field(description="the verified figures, measured on fresh sequences")
    measured_on: str
    watch: list[WatchedUnit]
    input_size: int
    hidden_size: int
    output_size: int
    sequence_steps: int
    vocab: list[str] | None = None
    labels: list[str] | None = None
    training: dict
    example: dict = Field(description="a request body for /api/forward and /api/backward, model_id included")
    example_features: dict[str, list[float]] = Field(
        default_factory=dict,
        description="per step of the example, what the watched units track (named as `watch[].tracks`), as the measures compute it",
    )


@router.get("/gallery", response_model=list[GalleryModel])
def list_gallery(store: Store) -> list[GalleryModel]:
    """The gallery's models, in the manifest's order (a deleted one is back at the next start)."""
    ids = installed(store)
    out = []
    for entry in manifest()["models"]:
        model_id = ids.get(entry["name"])
        if model_id is None or store.get(model_id) is None:
            continue
        run = config(entry)
        out.append(
            GalleryModel(
                model_id=model_id,
                vocab=run.vocab,
                labels=run.labels,
                example={"model_id": model_id, **example(entry)},
                example_features=example_features(entry),
                **{k: entry[k] for k in GalleryModel.model_fields if k in entry and k != "example"},
            )
        )
    return out
