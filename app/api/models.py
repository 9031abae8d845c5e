"""The saved-model store over HTTP: upload, list, show, export, delete.

POST /api/models takes a multipart upload (field `file`, optional `layout`, `name` and the
settings of model_settings.FORM_FIELDS), reads the model (model_files.read_source), maps
its tensors into PyTorch's layout, settles its run settings (model_settings.resolve), runs
the parity check against its framework (parity.py) and answers with the new id, what was
read, the mapping, the parity and the `architecture` (directions, projection, biases,
merge mode), which the saved model keeps in its meta for every later listing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .. import gallery, limits, model_files, model_settings, parity
from ..model_settings import FORM_FIELDS, RunConfig
from ..nn import layouts
from ..nn.architecture import MERGE_MODES, Architecture
from ..security import require_writable
from ..store import ModelRecord, ModelStore, SavedModel
from .deps import Store
from .errors import FieldError, error_responses
from .routing import Route

router = APIRouter(prefix="/api", tags=["models"], route_class=Route)

ModelId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="32 hex digits, as returned by POST /api/models.")]
MAX_NAME = 100
NOT_FOUND = error_responses(404, 422)


class MappingRow(BaseModel):
    source: str
    shape: list[int]
    target: str
    blocks: list[str]
    source_blocks: list[str]
    note: str


class Parity(BaseModel):
    """The framework's own run of the model on a fixed probe, against the engine's."""

    checked: bool
    framework: str | None = None
    matches: bool | None = Field(
        None, description="The difference is within 1e-5 of the largest output (at least 1); false also for inf/NaN."
    )
    max_abs_diff: float | None = None
    probe_steps: int | None = None
    compared: str | None = Field(None, description="y, probs (the head's softmax) or h (the top layer).")
    reason: str | None = None
    summary: str = Field(description='For people: "matches PyTorch to 3e-16 on a 20-step probe".')


class ArchitectureSummary(BaseModel):
    """What the recurrent stack is built of beyond its cell, read from the file's tensors (and,
    for Keras, its configuration's merge_mode)."""

    bidirectional: bool = Field(
        False,
        description="Each layer also runs a second set of weights from the last step to the first (PyTorch's "
        "bidirectional=True, Keras' Bidirectional, ONNX's direction=bidirectional).",
    )
    proj_size: int = Field(
        0,
        description="An LSTM's projection P (PyTorch's proj_size, 0 < P < hidden_size): h = W_hr (o * tanh c) "
        "has P numbers per direction; 0: none.",
    )
    bias: bool = Field(
        True, description="false: the layers have no bias tensors at all (PyTorch's bias=False, Keras' use_bias=False)."
    )
    merge_mode: Literal[MERGE_MODES] = Field(  # type: ignore[valid-type]
        "concat",
        description="How a bidirectional layer's two directions become what it hands up: concat (side by side: 2 x "
        "the state), sum, ave or mul (Keras' merge_mode). concat for a one-direction model.",
    )


def architecture_summary(arch: Architecture) -> dict:
    return {
        "bidirectional": arch.bidirectional,
        "proj_size": arch.proj_size,
        "bias": arch.bias,
        "merge_mode": arch.merge_mode,
    }


class ModelSummary(SavedModel):
    """A saved model as the API shows it: its stored fields, its vocabulary and where it came from."""

    architecture: ArchitectureSummary = Field(
        default_factory=ArchitectureSummary,
        description="Directions, an LSTM's projection, biases and the merge mode (models saved before this "
        "was recorded were all one-direction, biased, without a projection). hidden_size is the cell's units H.",
    )
    vocab: list[str] | None = None
    vocab_size: int | None = Field(None, description="Rows of the embedding (token ids in), when there is one.")
    source: dict | None = Field(
        None, description="framework, format, filename, and the settings read, given in the upload form, or assumed."
    )
    config: dict | None = Field(
        None,
        description="What the model runs with: nonlinearity, input_kind (numbers, onehot, tokens), output_kind "
        "(logits, values), output_steps (all, last), labels (the vocabulary is `vocab`), merge_mode (a "
        "bidirectional model's: concat, sum, ave, mul).",
    )
    parity: Parity | None = None
    title: dict[str, str] | None = Field(
        None,
        description="A gallery model's title in each language (en, ko); its `name` is the English one. "
        "Null for every other model: a name someone gave is shown as given.",
    )


class ModelDetail(ModelSummary):
    mapping: list[MappingRow]


class ModelList(BaseModel):
    models: list[ModelSummary]


def _summary(record: ModelRecord) -> dict:
    meta = record.meta
    source = meta.get("source")
    if isinstance(source, str):  # saved before sources were described: the file name alone
        source = {"filename": source}
    check = meta.get("parity")
    return record.summary() | {
        "source": source,
        # The vocabulary is sent once, as `vocab`, not again inside `config`.
        "config": {k: v for k, v in RunConfig.from_meta(meta).as_dict().items() if k != "vocab"},
        "architecture": meta.get("architecture") or ArchitectureSummary().model_dump(),
        "vocab_size": meta.get("vocab_size"),
        "parity": (check | {"summary": parity.describe(check)}) if check else None,
        "title": _gallery_title(meta),
    }


def _gallery_title(meta: dict) -> dict[str, str] | None:
    """The title a gallery model is shown under in each language, from the shipped manifest."""
    tag = meta.get("gallery")
    return gallery.titles().get(tag["name"]) if isinstance(tag, dict) and "name" in tag else None


def _detail(record: ModelRecord) -> ModelDetail:
    return ModelDetail(**_summary(record), mapping=record.meta.get("mapping", []))


def check_model_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise FieldError(("name",), f"name must be 1 to {MAX_NAME} characters; got {len(name)}")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise FieldError(("name",), "name holds control or invisible formatting characters")
    return name


def _check_sizes(imported: layouts.Imported) -> None:
    arch = imported.architecture
    if arch.proj_size and not 0 < arch.proj_size < arch.hidden_size:
        raise FieldError(
            ("file", "weight_hr_l0"),
            f"the LSTM's projection has proj_size {arch.proj_size} for hidden_size {arch.hidden_size}; a projection "
            "is smaller than the cell (0 < proj_size < hidden_size, as PyTorch requires)",
        )
    checks = [
        ("hidden_size", imported.hidden_size, limits.MAX_HIDDEN),
        ("num_layers", imported.num_layers, limits.MAX_LAYERS),
        ("input_size", imported.input_size, limits.MAX_INPUT_SIZE),
        ("output_size", imported.output_size or 0, limits.MAX_OUTPUT_SIZE),
    ]
    for what, value, cap in checks:
        if value > cap:
            raise FieldError(("file",), f"the model's {what} is {value}; this app accepts at most {cap}")
    if imported.hidden_size < 1 or imported.input_size < 1 or imported.output_size == 0:
        raise FieldError(("file",), "the model has an empty weight matrix (no units, inputs or head outputs)")
    if (imported.vocab_size or 0) > limits.MAX_VOCAB:
        raise FieldError(
            ("file", "embedding.weight"),
            f"the embedding has {imported.vocab_size} rows (tokens); this app accepts at most {limits.MAX_VOCAB}",
        )


def _renamed(mapping: list[layouts.Mapping], names: dict[str, str]) -> list[dict]:
    """The mapping table, each source named as the file names it (a Keras path, an ONNX initializer)."""
    rows = []
    for m in mapping:
        row = m.as_dict()
        row["source"] = names.get(m.source, m.source)
        rows.append(row)
    return rows


@router.post(
    "/models",
    status_code=201,
    response_model=ModelDetail,
    responses=error_responses(400, 403, 413, 422),
    dependencies=[Depends(require_writable)],
)
def upload_model(
    file: Annotated[
        UploadFile,
        File(
            description=".npz, .safetensors or .json of named tensors, a PyTorch zip checkpoint "
            "(.pt/.pth/.bin from torch.save, read without running code; bare pickles are refused), a Keras model "
            "(.keras, .h5, .weights.h5) or an ONNX graph (.onnx). Both directions (bidirectional), an LSTM's "
            "projection (proj_size) and bias-free layers are read as the file has them; the response's "
            "`architecture` says which."
        ),
    ],
    store: Store,
    layout: Annotated[Literal["pytorch", "keras", "onnx", "book"] | None, Form()] = None,
    name: Annotated[str | None, Form(max_length=MAX_NAME)] = None,
    nonlinearity: Annotated[str | None, Form(description=FORM_FIELDS["nonlinearity"], max_length=100)] = None,
    vocab: Annotated[str | None, Form(description=FORM_FIELDS["vocab"], max_length=2 * limits.MAX_VOCAB_CHARS)] = None,
    output: Annotated[str | None, Form(description=FORM_FIELDS["output"], max_length=100)] = None,
    labels: Annotated[
        str | None,
        Form(description=FORM_FIELDS["labels"], max_length=limits.MAX_OUTPUT_SIZE * (limits.MAX_TOKEN_CHARS + 4)),
    ] = None,
) -> ModelDetail:
    """Read a model file, map it to PyTorch's layout, check it against its framework, and save it."""
    filename = file.filename or "upload"
    # The form parser spooled the file to disk; it is read once (a zip is mapped: model_files.read_upload).
    size = file.file.seek(0, 2)
    if size > limits.MAX_UPLOAD_BYTES:
        raise FieldError(("file",), f"the file is over {limits.MAX_UPLOAD_BYTES // 2**20} MiB", status=413)
    data = model_files.read_upload(file.file, size)
    default_name = re.sub(r"\.[A-Za-z0-9]+$", "", filename.replace("\\", "/").rsplit("/", 1)[-1]) or "model"
    model_name = check_model_name(name if name is not None else default_name)
    try:
        given = model_settings.parse_form(
            {"nonlinearity": nonlinearity, "vocab": vocab, "output": output, "labels": labels}
        )
        source = model_files.read_source(filename, data)
        imported = layouts.to_pytorch(source.tensors, layout or source.layout, source.merge_mode)
        config = model_settings.resolve(source, imported, given)
    except model_settings.SettingError as err:
        raise FieldError((err.field,), str(err)) from None
    except model_files.ModelFileError as err:
        raise FieldError(("file", *([err.tensor] if err.tensor else [])), str(err), status=err.status) from None
    except layouts.LayoutError as err:
        raise FieldError(("file", *([err.tensor] if err.tensor else [])), str(err)) from None
    _check_sizes(imported)
    check = parity.check(source, data, imported.cell, imported.params, imported.num_layers, config)
    record = store.add(
        name=model_name,
        cell=imported.cell,
        params=imported.params,
        layout=imported.layout,
        meta={
            "mapping": _renamed(imported.mapping, source.names),
            "source": source.description() | {"filename": filename},
            "config": config.as_dict(),
            "architecture": architecture_summary(imported.architecture),
            "vocab": config.vocab,
            "vocab_size": imported.vocab_size,
            "parity": check,
        },
        input_size=imported.input_size,
        hidden_size=imported.hidden_size,
        num_layers=imported.num_layers,
        output_size=imported.output_size,
    )
    return _detail(record)


@router.get("/models", response_model=ModelList)
def list_models(
    store: Store,
    checkpoints: Annotated[bool, Query(description="Also list the checkpoints training runs keep.")] = False,
) -> ModelList:
    """Saved models, newest first."""
    records = [r for r in store.list() if checkpoints or "checkpoint" not in r.meta]
    return ModelList(models=[ModelSummary(**_summary(r)) for r in records])


def _record(model_id: str, store: ModelStore) -> ModelRecord:
    record = store.get(model_id)
    if record is None:
        raise HTTPException(404, f"no model {model_id}")
    return record


@router.get("/models/{model_id}", response_model=ModelDetail, responses=NOT_FOUND)
def get_model(model_id: ModelId, store: Store) -> ModelDetail:
    return _detail(_record(model_id, store))


@router.get(
    "/models/{model_id}/export",
    responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}, "application/json": {}}}},
    response_class=Response,
)
def export_model(
    model_id: ModelId,
    store: Store,
    layout: Annotated[Literal["pytorch", "keras", "onnx", "book"], Query()] = "pytorch",
    format: Annotated[Literal["npz", "safetensors", "json"], Query()] = "safetensors",
) -> Response:
    """The model's weights in another framework's layout and file format."""
    record = _record(model_id, store)
    params = store.params(model_id)
    if params is None:
        raise HTTPException(404, f"no model {model_id}")
    merge_mode = RunConfig.from_meta(record.meta).merge_mode
    if merge_mode != "concat" and layout in ("pytorch", "onnx"):
        # Those layouts' bidirectional layers concatenate: the file would be read as another model.
        raise FieldError(
            ("query", "layout"),
            f"this model merges its two directions with {merge_mode} (Keras' merge_mode); a {layout} file's "
            "bidirectional layers concatenate them, so it would be read back as another model. Export it in the "
            "keras layout",
        )
    try:
        tensors = layouts.from_pytorch(record.cell, params, layout)
    except layouts.LayoutError as err:
        raise FieldError(("query", "layout"), str(err)) from None
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", record.name).strip("._") or "model"
    return Response(
        model_files.write(tensors, format),
        media_type=model_files.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{safe}-{layout}.{format}"'},
    )


@router.delete(
    "/models/{model_id}",
    status_code=204,
    responses=error_responses(403, 404, 422),
    dependencies=[Depends(require_writable)],
)
def delete_model(model_id: ModelId, store: Store) -> Response:
    if not store.delete(model_id):
        raise HTTPException(404, f"no model {model_id}")
    return Response(status_code=204)
