"""Training runs in background threads; their state and events live in `runs.py` (SQLite).

The process that starts a run trains it in a thread and records its events (progress,
checkpoint, done) in the shared runs file, so a client on any worker process can read
them, replay them after a reconnect, ask for the status or cancel.  A poller thread per
process beats for the runs it owns and brings their cancel flags and readers' signs of
life in; the training loop only ever looks at memory between steps and sequences.

Every run ends with a `done` event and frees its slot, whatever fails (the whole worker
thread is one `try`; if even the runs file cannot be written, the owner stops beating and
another process ends the run after TRAIN_STALE_S).

Checkpoints are hidden saved models.  A run that ends unsaved (cancelled, diverged, error,
client_disconnected, or its process died) deletes them at once; a saved run's checkpoints
stay as long as the run is remembered (TRAIN_RETAIN_S, or until MAX_TRAIN_KEPT_BYTES drops
it) and are deleted with it.  The final model stays until someone deletes it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from . import limits
from .model_settings import RunConfig
from .nn import train as T
from .nn.spec import SPECS, param_name
from .rounding import prepare
from .runs import UNSAVED, TooManyRuns, get_board
from .store import get_store

PROGRESS_EVENTS = 200  # at most about this many progress events per run
CHECKPOINT_DIGITS = 4
# This process, as the owner of the runs it trains (a pid alone can be reused).
OWNER = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
TIDY_EVERY_S = 1.0  # clean-up runs at most this often per process, on access and on the poller's beat

log = logging.getLogger(__name__)

__all__ = ["Run", "TooManyRuns", "Trainer", "estimate_log_bytes", "trainer"]


@dataclass
class Run:
    """A run as its owning process holds it while it trains (others see only the runs file)."""

    id: str
    settings: T.Settings
    data: T.TaskData
    task: str
    time_limit_s: float
    checkpoints: int
    name: str
    cancel: threading.Event = field(default_factory=threading.Event)
    orphaned: bool = False  # set by the poller: readers came and all went away
    latest: dict[str, Any] = field(default_factory=dict)  # progress fields of the latest step

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        """Record an event; its data is serialised once, here, for every reader."""
        raw = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        get_board().append(self.id, kind, raw, None if kind == "checkpoint" else _summary(payload))


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    """What the status shows of an event: its fields without arrays."""
    return {k: v for k, v in payload.items() if not isinstance(v, np.ndarray | list)}


def estimate_log_bytes(settings: T.Settings, data: T.TaskData, checkpoints: int) -> int:
    """Bytes of events a run will record, before it starts: the checkpoints' gate traces dominate."""
    per_layer = settings.hidden_size * len(SPECS[settings.cell].heatmaps)
    numbers = len(data.probe_x) * (per_layer * settings.num_layers + data.output_size)
    per_checkpoint = numbers * limits.bytes_per_number(CHECKPOINT_DIGITS) + 1024
    return (checkpoints + 1) * per_checkpoint + (PROGRESS_EVENTS + 2) * 512


class Trainer:
    def __init__(self) -> None:
        self.local: dict[str, Run] = {}  # the runs this process trains
        self.lock = threading.Lock()
        self._poller: threading.Thread | None = None
        self._tidied = 0.0

    def start(
        self, settings: T.Settings, data: T.TaskData, task: str, time_limit_s: float, checkpoints: int, name: str
    ) -> Run:
        """Take a global slot (or raise TooManyRuns) and train in a background thread."""
        self.tidy(force=True)  # a dead process's runs give their slots back first
        run = Run(uuid.uuid4().hex, settings, data, task, time_limit_s, checkpoints, name)
        get_board().begin(run.id, task, OWNER)
        with self.lock:
            self.local[run.id] = run
            if self._poller is None:
                self._poller = threading.Thread(target=self._poll, name="train-poller", daemon=True)
                self._poller.start()
        threading.Thread(target=self._work, args=(run,), name=f"train-{run.id[:8]}", daemon=True).start()
        return run

    def status(self, run_id: str) -> dict[str, Any] | None:
        self.tidy()
        return get_board().status(run_id)

    def cancel(self, run_id: str) -> str | None:
        """Ask a run to stop (on whichever process trains it); its state, or None if unknown."""
        with self.lock:
            run = self.local.get(run_id)
        if run is not None:
            run.cancel.set()  # at once when it is ours; otherwise its owner polls the flag
        return get_board().request_cancel(run_id)

    # --- upkeep ---------------------------------------------------------------------------

    def tidy(self, force: bool = False) -> None:
        """End runs of dead processes, forget old finished runs, delete the models they drop."""
        now = time.monotonic()
        if not force and now - self._tidied < TIDY_EVERY_S:
            return
        self._tidied = now
        board = get_board()
        died = {"done": True, "reason": "error", "error": "the server process training it stopped"}
        died |= {"final_loss": None, "model_id": None}
        for run_id in board.end_stale(orjson.dumps(died)):
            _delete_models(board.take_checkpoints(run_id))
        _delete_models(board.forget_old())

    def _poll(self) -> None:
        """Beat for our runs, bring cancel flags and orphaning in; tidy up now and then."""
        while True:
            time.sleep(limits.TRAIN_POLL_S)
            try:
                with self.lock:
                    runs = dict(self.local)
                now = time.time()
                for run_id, (cancel, last_read) in get_board().beat(list(runs)).items():
                    if cancel:
                        runs[run_id].cancel.set()
                    # Streams touch last_read while open: silence means every reader is gone.
                    runs[run_id].orphaned = last_read is not None and now - last_read > limits.TRAIN_ORPHAN_GRACE_S
                self.tidy()
            except Exception:  # never let the poller die: without it no run of ours stops
                log.exception("training poller")

    # --- the worker thread ----------------------------------------------------------------

    def _work(self, run: Run) -> None:
        start = time.perf_counter()
        try:
            params, reason = self._train(run, start)
            self._finish(run, params, reason, time.perf_counter() - start)
        except Exception as err:  # a run must always end with a final event and free its slot
            log.warning("training run %s failed: %s: %s", run.id, type(err).__name__, err)
            self._fail(run, err)
        finally:
            with self.lock:
                self.local.pop(run.id, None)

    def _train(self, run: Run, start: float) -> tuple[dict[str, np.ndarray], str]:
        """The optimisation loop; the parameters and why it stopped."""
        s, data = run.settings, run.data
        checkpoint_steps = sorted({round(k * s.steps / max(1, run.checkpoints)) for k in range(run.checkpoints + 1)})
        every = max(1, math.ceil(s.steps / PROGRESS_EVENTS))
        params = T.init_model(s, data)
        # Every event carries the progress fields of the latest step; before the first step,
        # the loss and gradient norm of the untrained model on the probe sequence.
        probe_loss, probe_grads = T.batch_gradient(
            s.cell, params, s.num_layers, T.Batch([data.probe_x], [data.probe_loss])
        )
        run.latest = self._progress(T.StepReport(0, probe_loss, T.global_norm(probe_grads), False), 0.0)
        self._checkpoint(run, params, start)
        for report, _ in T.train(s, data, params, stop=lambda: self._stop_reason(run, start) is not None):
            run.latest = self._progress(report, time.perf_counter() - start)
            if report.step % every == 0 or report.step == 1:
                run.emit("progress", run.latest)
            if report.step in checkpoint_steps:
                self._checkpoint(run, params, start)
            if not math.isfinite(report.loss):
                return params, "diverged"
            if report.step < s.steps and self._stop_reason(run, start):
                break
        if run.latest["step"] < s.steps:
            return params, self._stop_reason(run, start) or "completed"
        return params, "completed"

    def _fail(self, run: Run, err: Exception) -> None:
        payload = {**run.latest, "done": True, "reason": "error", "error": str(err) or type(err).__name__}
        payload |= {"final_loss": None, "model_id": None}
        try:
            _delete_models(get_board().take_checkpoints(run.id))
            get_board().end(run.id, "error", False, orjson.dumps(payload), _summary(payload))
        except Exception:
            # The runs file itself failed: we stop beating, so another process (or our
            # poller) ends the run once its heartbeat is stale.
            log.exception("training run %s: could not record its end", run.id)

    @staticmethod
    def _stop_reason(run: Run, start: float) -> str | None:
        """Why the run must stop now (asked between steps and between a batch's sequences)."""
        if run.cancel.is_set():
            return "cancelled"
        if run.orphaned:
            return "client_disconnected"
        if time.perf_counter() - start > run.time_limit_s:
            return "time_limit"
        return None

    @staticmethod
    def _save(run: Run, params: dict[str, np.ndarray], step: int, meta: dict[str, Any]):
        s, data = run.settings, run.data
        checkpoint = "checkpoint" in meta
        return get_store().add(
            name=f"{run.name} · step {step}" if checkpoint else run.name,
            cell=s.cell,
            params=params,
            layout="pytorch",
            meta={
                "source": {
                    "framework": "lstmvis",
                    "format": "trained here",
                    "task": run.task,
                    "checkpoint": checkpoint,
                },
                "vocab": data.vocab,
                "config": RunConfig(
                    input_kind="tokens" if s.embedding_dim else "onehot" if data.vocab else "numbers",
                    output_kind="logits" if data.loss_kind == "cross_entropy" else "values",
                    vocab=data.vocab,
                ).as_dict(),
                **meta,
                "training": {"task": run.task, "steps": step, "settings": s.__dict__, **meta.get("training", {})},
            },
            input_size=params[param_name("weight_ih", 0)].shape[1],  # an embedding's width, when there is one
            hidden_size=s.hidden_size,
            num_layers=s.num_layers,
            output_size=data.output_size,
        )

    @staticmethod
    def _progress(report: T.StepReport, elapsed: float) -> dict[str, Any]:
        return {
            "step": report.step,
            "loss": report.loss,
            "grad_norm": report.grad_norm,
            "clipped": report.clipped,
            "elapsed_s": elapsed,
            "steps_per_s": report.step / elapsed if elapsed > 0 else 0.0,
        }

    @staticmethod
    def _checkpoint(run: Run, params: dict[str, np.ndarray], start: float) -> None:
        s, data = run.settings, run.data
        trace = T.probe(s.cell, params, s.num_layers, data)
        layers = [{n: layer[n] for n in SPECS[s.cell].heatmaps} for layer in trace.layers]
        # Each checkpoint is kept as a (hidden) saved model, so the page can open the model as
        # it was at that step in every view; it is deleted with the run (see the module doc).
        step = run.latest["step"]
        record = Trainer._save(run, params, step, {"checkpoint": {"run": run.id, "step": step}})
        get_board().add_checkpoint(run.id, record.id)
        payload = {
            **run.latest,
            "model_id": record.id,
            "elapsed_s": time.perf_counter() - start,
            "probe_loss": trace.loss,
            "accuracy": T.accuracy(trace, data),
            "layers": layers,
            "y": trace.output["y"],
        }
        run.emit("checkpoint", prepare(payload, CHECKPOINT_DIGITS))

    @staticmethod
    def _finish(run: Run, params: dict[str, np.ndarray], reason: str, elapsed: float) -> None:
        s, data = run.settings, run.data
        step, loss = run.latest["step"], run.latest["loss"]
        trace = T.probe(s.cell, params, s.num_layers, data)
        model_id = None
        sample = None
        if data.vocab is not None:
            first = data.vocab[int(data.probe_x[0] if s.embedding_dim else data.probe_x[0].argmax())]
            length = min(len(data.probe_x), limits.MAX_TRAIN_SAMPLE)
            sample = T.generate(s.cell, params, s.num_layers, data.vocab, first, length)
        saved = reason in ("completed", "time_limit")
        if saved:
            model_id = Trainer._save(run, params, step, {"training": {"final_loss": loss}}).id
        else:
            assert reason in UNSAVED, reason
            _delete_models(get_board().take_checkpoints(run.id))
        finite = math.isfinite(loss)
        payload = {
            **run.latest,
            "loss": loss if finite else None,
            "done": True,
            "reason": reason,
            "final_loss": loss if finite else None,
            "probe_loss": trace.loss if math.isfinite(trace.loss) else None,
            "accuracy": T.accuracy(trace, data),
            "sample": sample,
            "model_id": model_id,
            "elapsed_s": elapsed,
            "steps_per_s": step / elapsed if elapsed > 0 else 0.0,
        }
        get_board().end(run.id, reason, saved, orjson.dumps(payload), _summary(payload))


def _delete_models(model_ids: list[str]) -> None:
    store = get_store()
    for model_id in model_ids:
        store.delete(model_id)


trainer = Trainer()
