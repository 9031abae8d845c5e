"""Training runs in background threads, their event logs, cancellation and clean-up.

A run appends events (progress, checkpoint, done) to its own list; any number of clients
read the list from wherever they are (so a late or reconnecting client replays it).  When
the last reader goes away mid-run, the run is cancelled after a short grace period.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from .api.numbers import prepare
from .nn import train as T
from .store import get_store

MAX_RUNNING = 2  # one per core
RETAIN_S = 600  # finished runs stay readable this long
ORPHAN_GRACE_S = 5.0  # a run nobody listens to any more is cancelled after this
PROGRESS_EVENTS = 200  # at most about this many progress events per run
SNAPSHOT_ARRAYS = {"lstm": ("i", "f", "g", "o", "c", "h"), "gru": ("r", "z", "n", "h"), "rnn": ("h",)}


@dataclass
class Run:
    id: str
    settings: T.Settings
    data: T.TaskData
    task: str
    time_limit_s: float
    checkpoints: int
    name: str
    events: list[dict[str, Any]] = field(default_factory=list)
    state: str = "running"  # running, done
    reason: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_reason: str = "cancelled"
    listeners: int = 0
    had_listener: bool = False
    orphaned_at: float | None = None
    finished_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        """Record an event; its data is serialised once, here, for every reader."""
        raw = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        with self.lock:
            self.events.append({"id": len(self.events), "event": kind, "data": payload, "raw": raw})

    def listen(self, delta: int) -> None:
        with self.lock:
            self.listeners += delta
            if delta > 0:
                self.had_listener = True
                self.orphaned_at = None
            elif self.listeners == 0 and self.state == "running":
                self.orphaned_at = time.monotonic()

    def status(self) -> dict[str, Any]:
        last = next((e["data"] for e in reversed(self.events) if e["event"] in ("progress", "done")), {})
        last = {k: v for k, v in last.items() if not isinstance(v, np.ndarray)}
        return {
            "id": self.id,
            "state": self.state,
            "reason": self.reason,
            "task": self.task,
            "events": len(self.events),
            "last": last,
        }


class TooManyRuns(RuntimeError):
    pass


class Trainer:
    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.lock = threading.Lock()

    def start(
        self, settings: T.Settings, data: T.TaskData, task: str, time_limit_s: float, checkpoints: int, name: str
    ) -> Run:
        with self.lock:
            self._forget_old()
            running = sum(1 for r in self.runs.values() if r.state == "running")
            if running >= MAX_RUNNING:
                raise TooManyRuns(
                    f"{running} training runs are in progress (at most {MAX_RUNNING}); wait or cancel one"
                )
            run = Run(uuid.uuid4().hex, settings, data, task, time_limit_s, checkpoints, name)
            self.runs[run.id] = run
        threading.Thread(target=self._work, args=(run,), name=f"train-{run.id[:8]}", daemon=True).start()
        return run

    def get(self, run_id: str) -> Run | None:
        with self.lock:
            return self.runs.get(run_id)

    def cancel(self, run_id: str) -> Run | None:
        run = self.get(run_id)
        if run is not None:
            run.cancel.set()
        return run

    def _forget_old(self) -> None:
        now = time.monotonic()
        for run_id, run in list(self.runs.items()):
            if run.finished_at is not None and now - run.finished_at > RETAIN_S:
                del self.runs[run_id]

    def _work(self, run: Run) -> None:
        s, data = run.settings, run.data
        start = time.perf_counter()
        checkpoint_steps = sorted({round(k * s.steps / max(1, run.checkpoints)) for k in range(run.checkpoints + 1)})
        every = max(1, math.ceil(s.steps / PROGRESS_EVENTS))
        params = T.init_model(s, data)
        reason = "completed"
        # Every event carries the progress fields of the latest step; before the first step,
        # the loss and gradient norm of the untrained model on the probe sequence.
        probe_loss, probe_grads = T.batch_gradient(
            s.cell, params, s.num_layers, T.Batch([data.probe_x], [data.probe_loss])
        )
        latest = self._progress(T.StepReport(0, probe_loss, T.global_norm(probe_grads), False), 0.0)
        try:
            self._checkpoint(run, params, latest, start)
            for report, _ in T.train(s, data, params, stop=lambda: self._stop_reason(run, start) is not None):
                elapsed = time.perf_counter() - start
                latest = self._progress(report, elapsed)
                if report.step % every == 0 or report.step == 1:
                    run.emit("progress", latest)
                if report.step in checkpoint_steps:
                    self._checkpoint(run, params, latest, start)
                if not math.isfinite(report.loss):
                    reason = "diverged"
                    break
                if report.step < s.steps and self._stop_reason(run, start):
                    break
            if reason != "diverged" and latest["step"] < s.steps:
                reason = self._stop_reason(run, start) or reason
            self._finish(run, params, reason, latest, time.perf_counter() - start)
        except Exception as err:  # a run must always end with a final event
            run.emit(
                "done",
                {**latest, "done": True, "reason": "error", "error": str(err), "final_loss": None, "model_id": None},
            )
            run.reason = "error"
        finally:
            run.state = "done"
            run.finished_at = time.monotonic()

    @staticmethod
    def _stop_reason(run: Run, start: float) -> str | None:
        """Why the run must stop now (asked between steps and between a batch's sequences)."""
        if run.cancel.is_set():
            return run.cancel_reason
        if run.orphaned_at is not None and time.monotonic() - run.orphaned_at > ORPHAN_GRACE_S:
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
                "source": f"training ({run.task})" + (" checkpoint" if checkpoint else ""),
                "vocab": data.vocab,
                **meta,
                "training": {"task": run.task, "steps": step, "settings": s.__dict__, **meta.get("training", {})},
            },
            input_size=data.input_size,
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
    def _checkpoint(run: Run, params: dict[str, np.ndarray], latest: dict[str, Any], start: float) -> None:
        s, data = run.settings, run.data
        trace = T.probe(s.cell, params, s.num_layers, data)
        layers = [{n: layer[n] for n in SNAPSHOT_ARRAYS[s.cell]} for layer in trace.layers]
        # Each checkpoint is kept as a (hidden) saved model, so the page can open the model as
        # it was at that step in every view and a link to it survives a reload.
        record = Trainer._save(run, params, latest["step"], {"checkpoint": {"run": run.id, "step": latest["step"]}})
        payload = {
            **latest,
            "model_id": record.id,
            "elapsed_s": time.perf_counter() - start,
            "probe_loss": trace.loss,
            "accuracy": T.accuracy(trace, data),
            "layers": layers,
            "y": trace.output["y"],
        }
        run.emit("checkpoint", prepare(payload, 4))

    @staticmethod
    def _finish(run: Run, params: dict[str, np.ndarray], reason: str, latest: dict[str, Any], elapsed: float) -> None:
        s, data = run.settings, run.data
        step, loss = latest["step"], latest["loss"]
        trace = T.probe(s.cell, params, s.num_layers, data)
        model_id = None
        sample = None
        if data.vocab is not None:
            sample = T.generate(
                s.cell, params, s.num_layers, data.vocab, data.vocab[int(data.probe_x[0].argmax())], len(data.probe_x)
            )
        if reason in ("completed", "time_limit"):
            model_id = Trainer._save(run, params, step, {"training": {"final_loss": loss}}).id
        run.reason = reason
        run.emit(
            "done",
            {
                **latest,
                "loss": loss if math.isfinite(loss) else None,
                "done": True,
                "reason": reason,
                "final_loss": loss if math.isfinite(loss) else None,
                "probe_loss": trace.loss if math.isfinite(trace.loss) else None,
                "accuracy": T.accuracy(trace, data),
                "sample": sample,
                "model_id": model_id,
                "elapsed_s": elapsed,
                "steps_per_s": step / elapsed if elapsed > 0 else 0.0,
            },
        )


trainer = Trainer()
