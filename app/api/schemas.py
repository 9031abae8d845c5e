"""Request and response bodies of the trace endpoints (pydantic), shared by the OpenAPI docs.

Numbers are strict and finite: booleans are not numbers, and NaN / Infinity (which Python's
JSON parser accepts) are refused here, before any maths.  Shape rules that need more than
one field (T x D, weight shapes) are checked in `problem.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import limits
from ..nn.architecture import MERGE_MODES
from ..nn.spec import CELLS

Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Int = Annotated[int, Field(strict=True)]
Matrix = list[list[Finite]]
ClassIndex = Annotated[int, Field(strict=True, ge=0, lt=limits.MAX_OUTPUT_SIZE)]
TokenId = Annotated[int, Field(strict=True, ge=0, lt=limits.MAX_VOCAB)]
Tensor = Matrix | list[Finite]

CellName = Literal[CELLS]  # type: ignore[valid-type]
# Bounded settings shared by the trace, comparison and training requests (limits.py).
Seed = Annotated[int, Field(strict=True, ge=0, le=limits.MAX_SEED)]
ForgetBias = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-limits.MAX_FORGET_BIAS, le=limits.MAX_FORGET_BIAS)
]
RecurrentScale = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=limits.MAX_RECURRENT_SCALE)]


class DhLoss(BaseModel):
    """L = sum_t <dh_t, h_t> on the top layer: dh is the upstream gradient (T x H)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["dh"]
    dh: Matrix | None = Field(None, description="T x H; default all ones (L is the sum of every top-layer h).")


class MseLoss(BaseModel):
    """Linear head, then the mean squared error over every given target element."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["mse"]
    targets: list[list[Finite | None]] = Field(
        description="T x O; null leaves an element out of the mean (e.g. score only the last step)."
    )


class CrossEntropyLoss(BaseModel):
    """Linear head, softmax, mean over scored steps of -log p(target)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["cross_entropy"]
    targets: list[ClassIndex | None] | None = Field(
        None,
        description="T class indices (null: step not scored). With `text` the default is the next character.",
    )
    num_classes: Int | None = Field(
        None,
        ge=2,
        le=limits.MAX_OUTPUT_SIZE,
        description="Head outputs. Default: the vocabulary for text, else the head's rows, else max target + 1.",
    )


LossSpec = Annotated[DhLoss | MseLoss | CrossEntropyLoss, Field(discriminator="kind")]


class StepWindow(BaseModel):
    """Steps start..stop-1 of the sequence (0-based, stop exclusive)."""

    model_config = ConfigDict(extra="forbid")
    start: Int = Field(ge=0, lt=limits.MAX_STEPS)
    stop: Int = Field(ge=1, le=limits.MAX_STEPS)


class TraceRequest(BaseModel):
    """One sequence through a stacked LSTM / GRU / RNN; the same body for every trace endpoint."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"cell": "lstm", "hidden_size": 4, "text": "hello", "precision": 4},
                {
                    "cell": "gru",
                    "hidden_size": 3,
                    "inputs": [[0.5], [-0.2], [0.1]],
                    "loss": {"kind": "mse", "targets": [[0.1], [0.2], [0.3]]},
                },
            ]
        },
    )

    cell: CellName = "lstm"
    hidden_size: Int = Field(8, ge=1, le=limits.MAX_HIDDEN)
    num_layers: Int = Field(1, ge=1, le=limits.MAX_LAYERS)
    seed: Seed = Field(0, description="Seeds the default initialisation.")
    forget_bias: ForgetBias = Field(
        0.0, description="Added to the LSTM forget-gate block of every bias_ih (LSTM only)."
    )
    nonlinearity: Literal["tanh", "relu"] | None = Field(
        None,
        description="RNN only: h_t = tanh(a_t) (the default, PyTorch's) or relu(a_t). A saved model's own applies.",
    )
    bidirectional: bool = Field(
        False,
        description="Each layer also runs a reverse direction (weights `weight_ih_l{k}_reverse`, ...) over the "
        "sequence from its end; the next layer (and the head) reads both directions' h, merged by `merge_mode`.",
    )
    merge_mode: Literal[MERGE_MODES] = Field(  # type: ignore[valid-type]
        "concat",
        description="How a bidirectional layer's two h become its output: concat (PyTorch; side by side), sum, "
        "ave or mul (Keras' Bidirectional merge modes).",
    )
    proj_size: Int = Field(
        0,
        ge=0,
        lt=limits.MAX_HIDDEN,
        description="LSTM only (PyTorch's proj_size): h_t = W_hr (o * tanh c_t) has proj_size numbers "
        "(weights `weight_hr_l{k}`, proj_size x hidden_size), and W_hh reads that h. 0: no projection.",
    )
    bias: bool = Field(
        True,
        description="False: the layers have no biases at all (PyTorch's bias=False): give no bias tensors.",
    )
    inputs: Matrix | None = Field(None, description="T x D numbers. Give exactly one of inputs, text and tokens.")
    text: str | None = Field(
        None,
        max_length=limits.MAX_TEXT_CHARS,
        description="Steps are tokens 0..n-2, targets the next tokens. With a saved model: tokens of its vocabulary "
        "(characters, or whitespace-separated words for a word vocabulary). Otherwise: characters, one-hot over the "
        "sorted set of the text's characters.",
    )
    tokens: list[TokenId] | None = Field(
        None,
        max_length=limits.MAX_STEPS,
        description="T token ids, one per step: rows of the model's embedding (embedding.weight), or one-hot "
        "positions of its vocabulary.",
    )
    weights: dict[str, Tensor] | None = Field(
        None,
        description="PyTorch-named parameters (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..., optional head.weight, head.bias, and embedding.weight (V x D) for token ids). Default: initialised from seed.",
    )
    model_id: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{32}$",
        description="A saved model (POST /api/models) instead of `weights`; its cell and sizes apply.",
    )
    h0: Matrix | None = Field(None, description="num_layers x H initial hidden state; default zeros.")
    c0: Matrix | None = Field(None, description="num_layers x H initial cell state (LSTM only); default zeros.")
    loss: LossSpec | None = Field(
        None,
        description="Default: next-character cross-entropy for text, dh of ones for inputs.",
    )
    precision: Int | None = Field(
        None, ge=1, le=limits.MAX_PRECISION, description="Significant digits of every number in the response."
    )
    top_k: Int = Field(
        limits.DEFAULT_TOP_K,
        ge=1,
        le=limits.MAX_TOP_K,
        description="With a softmax read-out: each step's k most likely outputs (`output.top_k`).",
    )
    full_output: bool | None = Field(
        None,
        description=f"The head's whole T x O matrices (y, probs, grad_y) and its weight gradients. Default: "
        f"only with at most {limits.TOP_K_FULL_OUTPUTS} outputs; beyond, `output.top_k` and `output.target` "
        "carry what a reader needs.",
    )
    return_params: bool = Field(False, description="Include the parameters used, PyTorch-named.")
    fields: list[str] | None = Field(
        None,
        min_length=1,
        description='Return only these per-step arrays (and their gradients), e.g. ["h", "c"].',
    )
    window: StepWindow | None = Field(
        None,
        description="Send the per-step rows of steps start..stop-1 only (0-based; the whole sequence is still "
        "run): every per-step array, its gradient and the head's per-step read-out; a stop past the end is the end. "
        "A long run too large for one response is fetched as consecutive windows.",
    )
    param_grads: bool = Field(
        True,
        description="False: leave out the gradients of the weights (each layer's, the head's and the "
        "embedding's); the per-step arrays, their gradients and dL/dh0, dL/dc0 remain.",
    )


class TopK(BaseModel):
    ids: list[list[int]] = Field(description="T x k output indices, most likely first.")
    probs: Matrix = Field(description="T x k probabilities of those outputs.")


class TargetOutput(BaseModel):
    ids: list[int] = Field(description="Each step's target class (-1: not scored).")
    probs: list[float | None] = Field(description="p(target) per step (null where not scored).")
    grad_y: list[float | None] | None = Field(
        None, description="From /api/backward: dL/dy at the target's output per step (null where not scored)."
    )


class Output(BaseModel):
    """The head's read-out and, from /api/backward, its gradients (the whole matrices with
    `full_output`, by default for at most TOP_K_FULL_OUTPUTS outputs)."""

    model_config = ConfigDict(extra="allow")
    full: bool = Field(description="Whether y, probs and grad_y are the whole T x O matrices.")
    y: Matrix | None = None
    probs: Matrix | None = None
    grad_y: Matrix | None = None
    top_k: TopK | None = None
    target: TargetOutput | None = None


class TraceResponse(BaseModel):
    cell: CellName
    hidden_size: int
    num_layers: int
    input_size: int
    steps: int
    window: StepWindow | None = Field(
        None, description="When asked for: the steps whose rows the per-step arrays hold (start..stop-1)."
    )
    gate_order: list[str] = Field(description="Block order in `a` and in the weights.")
    tokens: list[str] | None = Field(
        None, description="The sequence's tokens as strings (text, or ids with a vocabulary)."
    )
    vocab: list[str] | None = Field(
        None,
        description="The vocabulary: index = one-hot position or embedding row (a text's sorted characters by default).",
    )
    loss_kind: Literal["dh", "mse", "cross_entropy"]
    loss: float
    bidirectional: bool = False
    merge_mode: str = "concat"
    proj_size: int = 0
    bias: bool = True
    output_size: int = Field(
        description="Numbers each layer hands up (2 x h's width for a concatenated bidirectional layer)."
    )
    layers: list[dict[str, Any]] = Field(
        description='Bottom to top. Each has `direction`: "forward", with the forward arrays (T x width) and, from '
        '/api/backward, `grad`; or "bidirectional", with `forward` and `reverse` (each with its arrays and `grad`, '
        "rows by input position: row t of the reverse direction is its state after reading x_t, from the end; its "
        "`h_from_next` at t came from position t-1), `h` (the merged output), `grad.x` (both directions' sum) and "
        "`grad.h` (dL/d the merged output)."
    )
    output: Output | None = None
    grad: dict[str, Any] | None = Field(
        None,
        description='Gradients of model-level tensors (from /api/backward): "embedding.weight" as {"rows": the '
        'distinct token ids, ascending, "values": dL/dE for those rows, summed over the steps that read them}.',
    )
    params: dict[str, Tensor] | None = None


class GradCheckEntry(BaseModel):
    name: str
    size: int
    max_abs_error: float
    max_rel_error: float


class GradCheckResponse(BaseModel):
    cell: CellName
    eps: float
    tolerance: float
    passed: bool
    max_rel_error: float
    checks: list[GradCheckEntry]


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: list[ErrorItem] | str
