"""Every size limit the service enforces, in one place (the API, the docs and the page read these).

The sizes the project promises to accept: T = 1000 steps, H = 1024 units, 4 layers, both
directions, vocabularies and head outputs of 65,536 (each on its own; together as far as
MAX_WORK and MAX_HEAD_WORK allow, e.g. a 2-layer H = 512 character model or an H = 256
model of a 30,000-word vocabulary over 200 steps).  The caps beyond them are there so one
request cannot exhaust the memory, time or bandwidth of the server.
"""

from __future__ import annotations

MAX_STEPS = 1000  # timesteps T
MAX_HIDDEN = 1024  # hidden units H (and an LSTM's proj_size P < H)
MAX_LAYERS = 4
MAX_INPUT_SIZE = 1024  # features D per step (an embedding's width, or distinct characters of a text)
MAX_OUTPUT_SIZE = 65_536  # head outputs O (regression targets or classes: a word model's vocabulary)
MAX_TEXT_CHARS = MAX_STEPS + 1  # a text of n characters gives T = n - 1 steps
MAX_SEED = 2**32 - 1
# |forget_bias|: sigmoid(100) is 1 to float64's precision, so a larger bias says nothing new.
MAX_FORGET_BIAS = 100
# Multiplier of every W_hh in /api/compare (push an RNN from vanishing to exploding).
MAX_RECURRENT_SCALE = 100
# Steps between seeing and recalling in the copy task (presets and training).
MAX_COPY_DELAY = 100
MAX_PRECISION = 17  # significant digits; 17 round-trips any float64

# T * H * layers * directions: bounds memory (about 30 float64 arrays of T x H per layer and
# direction: 250 MB at the cap) and time. 1000 x 1024 x 1 fits, 500 x 256 x 4 x 2 and
# 200 x 512 x 2 layers too.
MAX_WORK = 1_048_576
# T * O: the head's logits, probabilities and their gradient are three T x O float64 arrays
# (200 MB at the cap). 200 steps over 30,000 words fits; 1000 steps over 8,192 classes too.
MAX_HEAD_WORK = 8_388_608
# Top-k: with more outputs than TOP_K_FULL_OUTPUTS the response carries each step's k most
# likely outputs and the target's probability and gradient, not T x O matrices, unless the
# request asks for them (`full_output`).
DEFAULT_TOP_K = 5
MAX_TOP_K = 100
TOP_K_FULL_OUTPUTS = 256
# Estimated size of the JSON response before it is built.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# Request bodies larger than this are refused with 413 before they are parsed (every route
# but the upload, POST /api/models, which has MAX_UPLOAD_BYTES below).
MAX_BODY_BYTES = 32 * 1024 * 1024
# Gradient check: (scalars perturbed) x T x layers, about four forward passes each.
MAX_GRADCHECK_COST = 150_000
# Traces kept so the windows of one long run are computed once (app/api/tracecache.py), per
# worker process: bytes of their arrays (a T = 1000, H = 256 character LSTM's backward trace
# is about 55 MB, a 1-layer H = 1024 one over 1000 steps about 240 MB; a trace larger than
# the bound is not kept), and seconds an entry lives (the page asks for the next window as
# soon as one arrives).  Not MAX_ names: /api/limits does not serve them.
TRACE_CACHE_BYTES = 512 * 1024 * 1024
TRACE_CACHE_SECONDS = 120.0

# Bytes of JSON per number: full precision "-0.12345678901234567," vs "d.ddde-05,".
BYTES_PER_NUMBER_FULL = 22


def bytes_per_number(precision: int | None) -> int:
    return BYTES_PER_NUMBER_FULL if precision is None else precision + 8


def as_dict() -> dict[str, int]:
    """The limits as served by GET /api/limits."""
    return {
        name.lower(): value for name, value in globals().items() if name.startswith("MAX_") and isinstance(value, int)
    }


# --- Requests: parsing, concurrency and time budgets of the HTTP layer -------------------

# Computations (/api/forward, /backward, /gradcheck, /compare; see app/api/workload.py).
# Seconds one may compute, counted from when it leaves the queue, before it is stopped with a
# 503 saying what to make smaller.  The largest promised sizes take under 10 s on one core.
MAX_COMPUTE_SECONDS = 60
# Below this estimated cost (multiply-adds, about 0.3 s) a computation is light: it has its
# own slots, so the page's small requests are not queued behind large ones.
LIGHT_COMPUTE_COST = 50_000_000
# Heavy computations running at once, per core; light ones running at once.  Together far
# below AnyIO's 40 threads, so /api/health and the other sync endpoints always get one.
HEAVY_COMPUTES_PER_CORE = 1
MAX_LIGHT_COMPUTES = 8
# Computations waiting for a slot, per lane; one more is answered 503 with Retry-After.
MAX_HEAVY_QUEUE = 16
MAX_LIGHT_QUEUE = 64

# JSON bodies: the most lists/objects and values any accepted request can hold, counted
# from the raw bytes ('[' + '{' and ',') before parsing.  Weights sent inline are sized for a
# JSON body (a 4-layer LSTM of 256 units with a head of 256 outputs); larger models come as a
# file (POST /api/models) and are named by `model_id`.  The budget is that model's tensors
# (4 blocks: 8H weight rows + 2 bias lists per layer), and T x D inputs, T x H dh (at the
# largest H), T x O targets, h0 and c0; the slack covers the keys, strings (a training
# text's commas) and small fields.
# The largest hidden size, input width and head of weights sent inline in a request body.
JSON_WEIGHTS_SIZE = 256
_JSON_HIDDEN = _JSON_INPUTS = _JSON_OUTPUTS = JSON_WEIGHTS_SIZE
_MAX_ROWS = MAX_LAYERS * (8 * _JSON_HIDDEN + 2) + _JSON_OUTPUTS + 1 + 3 * (MAX_STEPS + 1) + 2 * (MAX_LAYERS + 1)
_MAX_NUMBERS = (
    MAX_LAYERS * 4 * _JSON_HIDDEN * (max(_JSON_INPUTS, _JSON_HIDDEN) + _JSON_HIDDEN + 2)
    + _JSON_OUTPUTS * (_JSON_HIDDEN + 1)
    + MAX_STEPS * (_JSON_INPUTS + MAX_HIDDEN + _JSON_OUTPUTS)
    + 2 * MAX_LAYERS * MAX_HIDDEN
)
MAX_JSON_CONTAINERS = 2 * _MAX_ROWS + 10_000
MAX_JSON_VALUES = _MAX_NUMBERS + _MAX_ROWS + 10_000
# Object keys (counted as ':' in the raw bytes): a request has a few hundred at most, but a
# text of up to 5,000 characters may hold a colon in every one.  Without this bound a body of
# millions of short keys passed the value count and cost a gigabyte to parse.
MAX_JSON_KEYS = 20_000
# The same for a JSON weight file: at most MAX_UPLOAD_TENSORS names, and a name may hold a
# colon or two (Keras writes "kernel:0").
MAX_UPLOAD_JSON_KEYS = 1_000
# Request headers: uvicorn's h11 parser refuses a header block larger than this.
MAX_HEADER_BYTES = 64 * 1024
# An idle keep-alive connection is closed after this many seconds (uvicorn's default is 5).
KEEP_ALIVE_SECONDS = 5

# --- Uploads: what a weight file may declare before anything is expanded ----------------

# An embedding's rows (tokens of a vocabulary); its numbers count towards MAX_UPLOAD_ELEMENTS.
MAX_VOCAB = 65_536

# Tensors in one weight file: four layers, two directions, five tensors each (a projection's
# W_hr beside the four), an embedding, a head, and some slack.
MAX_UPLOAD_TENSORS = MAX_LAYERS * 2 * 5 + 3 + 16
# Numbers in one model (in a checkpoint: in the state_dict read): 64 Mi, 512 MiB as the
# float64 the engine computes in (a float32 file of 256 MiB). Each size on its own fits
# (an embedding of 65,536 x 1024 is 64 Mi alone), but not every largest size at once: four
# bidirectional layers of 1024 units, an embedding of 65,536 x 1024 and a head of 65,536
# outputs would be 290 Mi numbers (2.3 GB), more than a local tool should hold per model.
# A word model of 30,000 words (embedding and head of 256) with 2 layers of 512 units is 20 Mi.
MAX_UPLOAD_ELEMENTS = 2**26
# Bytes of an upload (the request body of POST /api/models; every other route keeps
# MAX_BODY_BYTES).  The largest file a user brings is a training checkpoint: torch.save of its
# state_dict and Adam's two moments, three numbers per parameter, so 512 MiB holds the
# checkpoint of a model of up to 44.7M parameters in float32 (12 bytes each; 22.4M in
# float64): the 20 Mi word model above, with room.  A model at MAX_UPLOAD_ELEMENTS (64 Mi
# numbers, 256 MiB in float32) comes as its state dict or .safetensors, without its optimizer.
# The form parser spools the body to
# disk and a checkpoint is mapped, not copied: a 200 MB one costs the server about its model's
# weights three times over (once as read, twice as float64), 1.1 x the file
# (tests/api/test_upload_memory.py asserts at most 2 x).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
# Bytes a zip may expand to (the sum of the sizes its members declare, checked before any
# member is inflated): what an uncompressed upload may be, so a checkpoint's members fit,
# the optimizer's storages that are never read included.  A zip bomb declaring more is
# refused from its directory; one that lies about its sizes is stopped at the size declared.
MAX_UPLOAD_EXPANDED_BYTES = MAX_UPLOAD_BYTES
# A JSON weight file keeps the limits it had: parsing it builds a Python float per number
# (about 32 bytes each, four times a float64) and holds every string whole, so it stays
# within the old body limit and 3M numbers (the largest model without an embedding holds
# 2.1M).  Larger models come as .npz, .safetensors or .pt.
MAX_UPLOAD_JSON_BYTES = MAX_BODY_BYTES
MAX_UPLOAD_JSON_ELEMENTS = 3_000_000
# Zip archives (.npz): members, and the central directory read before any member.
MAX_ARCHIVE_MEMBERS = MAX_UPLOAD_TENSORS
MAX_ARCHIVE_DIRECTORY_BYTES = 256 * 1024
# A .npy header (numpy's own default cap) and a .safetensors JSON header.
MAX_NPY_HEADER_BYTES = 10_000
MAX_SAFETENSORS_HEADER_BYTES = 1024 * 1024
# PyTorch zip checkpoints (.pt): the pickled structure (data.pkl, a few KB for a state_dict),
# the tensors it may rebuild (the state_dict's plus optimizer state: Adam keeps three per
# parameter), and how deeply its MARKs may nest.  Only the chosen state_dict's tensors are
# read, and they obey MAX_UPLOAD_TENSORS and MAX_UPLOAD_ELEMENTS like any other file.
MAX_CHECKPOINT_PICKLE_BYTES = 1024 * 1024
MAX_CHECKPOINT_TENSORS = 8 * MAX_UPLOAD_TENSORS
MAX_CHECKPOINT_NESTING = 64
# Members of a checkpoint zip: one storage file per tensor and a few bookkeeping files.
MAX_CHECKPOINT_MEMBERS = MAX_CHECKPOINT_TENSORS + 16

# Framework files (.keras, .h5, .onnx): the model's configuration (Keras config.json or an
# .h5's model_config attribute), the HDF5 groups and datasets walked, and the ONNX graph's
# nodes (an exported LSTM with a head has a few dozen, shape bookkeeping included).
MAX_MODEL_CONFIG_BYTES = 1024 * 1024
MAX_H5_OBJECTS = 1_000
MAX_ONNX_NODES = 2_000
# HDF5 files are parsed in a child process (app/keras_files.py): a crafted 4 KB file can make
# the HDF5 library loop at 100% CPU. Wall-clock and CPU seconds, and the address space it may
# add to what Python, numpy and h5py take at start; a file of the largest accepted model reads
# in well under a second.
HDF5_READER_SECONDS = 30.0
HDF5_READER_CPU_SECONDS = 20
HDF5_READER_MEMORY_BYTES = 1 << 30
# A vocabulary given with an upload: characters or words, each at most this long, and all of
# them together at most MAX_VOCAB_CHARS (it is kept with the model and sent with its summary).
MAX_TOKEN_CHARS = 100
MAX_VOCAB_CHARS = 1024 * 1024

# --- Training runs: memory, slots and clean-up -------------------------------------------

# What one run may ask for (POST /api/train).
MAX_TRAIN_HIDDEN = 128
MAX_TRAIN_STEPS = 20_000
MAX_TRAIN_SECONDS = 300
MAX_TRAIN_SEQ_LEN = 200
MAX_TRAIN_TEXT = 5000  # characters; its distinct characters are capped by MAX_INPUT_SIZE
MAX_TRAIN_BATCH = 64  # sequences per optimiser step
MAX_TRAIN_CHECKPOINTS = 50  # gate-trace snapshots on the probe sequence
# Runs in progress at once, across every worker process (one per core).
MAX_TRAIN_RUNS = 2
# Bytes of events one run may record, estimated before it starts (checkpoints dominate:
# the probe's gate traces, about 12 bytes a number at 4 significant digits).  A run over
# it is refused naming `checkpoints`.
MAX_TRAIN_LOG_BYTES = 128 * 1024 * 1024
# Bytes of events of finished runs kept for late readers; the oldest runs are dropped first.
MAX_TRAIN_KEPT_BYTES = 512 * 1024 * 1024
# Open event streams: per run (the page opens one; reconnects replace it) and in all.
MAX_TRAIN_STREAMS_PER_RUN = 8
MAX_TRAIN_STREAMS = 32
# Characters of the sample a text run generates at its end.
MAX_TRAIN_SAMPLE = MAX_TRAIN_SEQ_LEN
TRAIN_RETAIN_S = 600.0  # finished runs stay readable this long (or until the byte budget drops them)
TRAIN_ORPHAN_GRACE_S = 5.0  # a run nobody listens to any more is cancelled after this
TRAIN_POLL_S = 0.2  # owners beat and read cancel flags this often; streams poll for events
TRAIN_STALE_S = 15.0  # a running run whose owner has not beaten for this long is ended
TRAIN_SEND_TIMEOUT_S = 30.0  # an event stream whose reader takes no bytes for this long is dropped

# --- The model store: its size budget ----------------------------------------------------

# Page cache of each SQLite connection (one per thread, in the store and the run board), in
# KiB.  SQLite's default, 2 MiB, kept the pages of every model BLOB a thread had read: with
# dozens of threads per process that is memory held for nothing (models are read once).
SQLITE_CACHE_KIB = 256

# Bytes of saved parameters (the BLOBs) the store holds; uploads beyond it get 507.
# Overridable with --store-bytes / $LSTMVIS_STORE_BYTES, so not a MAX_ served by /api/limits.
STORE_BUDGET_BYTES = 1024 * 2**20
# A file of this size kept in the data directory and released when the disk is full, so
# that a delete (which must write to SQLite's WAL) can still run and free space.
STORE_RESERVE_BYTES = 1 * 2**20
