"""What routes are handed rather than import: the model store (a test or another deployment
can substitute it with `app.dependency_overrides[get_store]`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from ..store import ModelStore, get_store

Store = Annotated[ModelStore, Depends(get_store)]
