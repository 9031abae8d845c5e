"""A 200 MB training checkpoint uploads on the real server holding at most two copies of it in memory.

The file is what a user brings from training the largest kind of model the engine takes: an
nn.Embedding(65536, 256) -> nn.LSTM(256, 256) -> nn.Linear(256, 256) in float32, saved with
torch.save together with its epoch and Adam's state (two moments per parameter): 208 MB, of
which the model's own weights are 70 MB.

`python -m app` runs in a child process; its peak resident size (VmHWM in /proc/PID/status)
is read after a small upload of the same kind (which imports torch for the parity check, some
300 MB the first time, and warms everything else) and after the big one. benchmarks/
upload_memory.py reports the same figures for the README.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx2
import numpy as np
import pytest

from tests.live_server import ServerProcess

torch = pytest.importorskip("torch")

VOCAB, WIDTH = 65_536, 256  # limits.MAX_VOCAB rows of limits.MAX_INPUT_SIZE: the largest embedding
TOKENS = [0, 7, 65_535, 31_337, 7, 2]


class Model(torch.nn.Module):
    """Token ids -> embedding -> one LSTM layer -> a linear head (a character or word model)."""

    def __init__(self, vocab: int, width: int):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, width)
        self.lstm = torch.nn.LSTM(width, width)
        self.fc = torch.nn.Linear(width, width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(self.embedding(tokens))[0])


def make_checkpoint(path: Path, vocab: int = VOCAB, width: int = WIDTH, seed: int = 0) -> Model:
    """A float32 training checkpoint (epoch, model_state_dict, optimizer_state_dict after one
    Adam step) written to `path`; returns the model."""
    torch.manual_seed(seed)
    model = Model(vocab, width).float()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randint(0, vocab, (8,))).pow(2).mean().backward()
    adam.step()  # Adam's state now holds exp_avg and exp_avg_sq for every parameter
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": adam.state_dict()}, path)
    return model


def memory(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak), in bytes, from /proc/PID/status (Linux)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak(pid: int) -> bool:
    """Set VmHWM back to the current VmRSS (clear_refs "5", Linux 4.0+); False where refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def upload(url: str, path: Path, timeout: float = 300) -> httpx2.Response:
    """POST the file to /api/models, streamed from disk (the client never holds it whole)."""
    with path.open("rb") as f:
        return httpx2.post(
            f"{url}/api/models", files={"file": (path.name, f, "application/octet-stream")}, timeout=timeout
        )


def measured_upload(server: ServerProcess, path: Path) -> tuple[httpx2.Response, dict, dict, float, bool]:
    """(answer, memory before, memory after, seconds, whether the peak was reset first) of one
    upload: the server's peak is reset, so VmHWM after is this upload's."""
    pid = server.proc.pid
    exact = reset_peak(pid)
    before = memory(pid)
    t0 = time.perf_counter()
    r = upload(server.url, path)
    seconds = time.perf_counter() - t0
    return r, before, memory(pid), seconds, exact


def warm_up(url: str, folder: Path) -> None:
    """A small upload of the same kind: the server imports torch (parity) and every code path once."""
    small = folder / "warm-up.pt"
    make_checkpoint(small, vocab=50, width=8, seed=1)
    r = upload(url, small)
    assert r.status_code == 201, r.text[:2000]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload-memory")
    path = folder / "checkpoint.pt"
    model = make_checkpoint(path)
    yield path, model
    shutil.rmtree(folder, ignore_errors=True)  # 200 MB: not left for pytest's kept tmp dirs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload-memory-server")
    proc = ServerProcess(str(folder / "data"), log=folder / "server.log")
    try:
        warm_up(proc.url, folder)
        yield proc
    finally:
        proc.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_200_mb_checkpoint_uploads_holding_at_most_two_copies(server, checkpoint):
    path, model = checkpoint
    size = path.stat().st_size
    assert size > 200 * 10**6, size  # the 200 MB file

    r, before, after, seconds, exact = measured_upload(server, path)
    assert r.status_code == 201, r.text[:2000]

    # Measured from the resident size before (with the peak reset, the peak is this upload's;
    # without, an earlier, higher peak can only make the growth look larger).
    growth = after["VmHWM"] - before["VmRSS"]
    mib = 2**20
    figures = (
        f"file {size / mib:.1f} MiB; server RSS before {before['VmRSS'] / mib:.1f} MiB, peak "
        f"{after['VmHWM'] / mib:.1f} MiB (reset before the upload: {exact}), after {after['VmRSS'] / mib:.1f} MiB; "
        f"growth {growth / mib:.1f} MiB = {growth / size:.2f} x the file; upload {seconds:.1f} s"
    )
    print(figures)
    assert growth <= 2 * size, figures

    body = r.json()
    assert (body["cell"], body["hidden_size"], body["input_size"], body["vocab_size"]) == ("lstm", WIDTH, WIDTH, VOCAB)
    assert body["parity"]["checked"] and body["parity"]["max_abs_diff"] < 1e-6, body["parity"]

    # The saved model traces, exactly as the checkpoint's weights compute (float64 on both sides:
    # the weights were stored as float32, which they are, and handed back as float64).
    t = httpx2.post(f"{server.url}/api/forward", json={"model_id": body["id"], "tokens": TOKENS}, timeout=120)
    assert t.status_code == 200, t.text[:2000]
    with torch.no_grad():
        expected = model.double()(torch.tensor(TOKENS)).numpy()
    np.testing.assert_allclose(t.json()["output"]["y"], expected, rtol=0, atol=1e-12)


def test_float32_weights_are_stored_as_float32_and_handed_back_as_float64(tmp_path):
    import sqlite3

    from safetensors.numpy import load as st_load

    from app.store import CHUNK_NUMBERS, DB_NAME, ModelStore

    rng = np.random.default_rng(0)
    as_f32 = rng.normal(size=(CHUNK_NUMBERS // 400 + 7, 400)).astype(np.float32).astype(np.float64)
    late = as_f32.copy()
    late[-1, -1] = 0.1  # not a float32, in the last block only
    params = {"as_f32": as_f32, "late": late, "f64": rng.normal(size=(3, 4)), "tiny": np.array([1e-45, -0.0, 3e38])}
    store = ModelStore(tmp_path / DB_NAME)
    record = store.add("m", "lstm", params, "pytorch", {}, 1, 1, 1, None)

    blob = sqlite3.connect(store.path).execute("SELECT params FROM models").fetchone()[0]
    on_disk = st_load(blob)  # a safetensors file, as the safetensors library reads it
    assert {k: v.dtype.name for k, v in on_disk.items()} == {
        "as_f32": "float32",
        "late": "float64",
        "f64": "float64",
        "tiny": "float64",  # 1e-45 is not a float32 (its nearest is 1.4e-45)
    }
    assert store.used_bytes() == len(blob) < 8 * sum(v.size for v in params.values())
    back = store.params(record.id)
    for name, value in params.items():
        assert back[name].dtype == np.float64 and back[name].flags.writeable
        np.testing.assert_array_equal(back[name], value)
        np.testing.assert_array_equal(on_disk[name], value)
    assert np.signbit(back["tiny"][1])
    # Handed back as float64: in-place maths (forget_bias) does not round in float32.
    back["as_f32"][0, 0] += 1e-12
    assert back["as_f32"][0, 0] != as_f32[0, 0]


def _spooled(data: bytes, tmp_path: Path, name: str):
    """The upload as the form parser leaves it: a file on disk, open for reading."""
    path = tmp_path / name
    path.write_bytes(data)
    return path.open("rb")


def test_a_zip_upload_is_mapped_and_reads_as_its_bytes_do(tmp_path):
    import io
    import mmap

    from app import model_files

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    buf = io.BytesIO()
    torch.save({"epoch": 1, "model_state_dict": lstm.state_dict()}, buf)
    arrays = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    npz, npz_deflated = io.BytesIO(), io.BytesIO()
    np.savez(npz, **arrays)
    np.savez_compressed(npz_deflated, **arrays)
    for name, data in [("m.pt", buf.getvalue()), ("m.npz", npz.getvalue()), ("d.npz", npz_deflated.getvalue())]:
        with _spooled(data, tmp_path, name) as f:
            mapped = model_files.read_upload(f, len(data))
        assert isinstance(mapped, mmap.mmap), name
        got, want = model_files.read(name, mapped), model_files.read(name, data)
        assert got.keys() == want.keys() == arrays.keys(), name
        for key, value in want.items():
            assert got[key].dtype == np.float64 and got[key].flags.writeable
            np.testing.assert_array_equal(got[key], value)
            np.testing.assert_array_equal(got[key], arrays[key])
    # Anything else is read as bytes (its readers, and the parity check's frameworks, take bytes).
    st = model_files.write(arrays, "safetensors")
    with _spooled(st, tmp_path, "m.safetensors") as f:
        assert model_files.read_upload(f, len(st)) == st


def test_a_stored_storage_read_as_a_view_still_has_its_crc_checked(tmp_path):
    import io

    from app import model_files

    weights = np.full((4, 4), 0.25, dtype=np.float32)  # 0x3e800000: a pattern to find in the zip
    buf = io.BytesIO()
    torch.save({"weight_hh_l0": torch.from_numpy(weights)}, buf)
    data = bytearray(buf.getvalue())
    at = data.find(weights.tobytes())
    assert at > 0
    data[at + 5] ^= 0x01  # a bit flipped in the storage: its size and the zip's directory unchanged
    with pytest.raises(model_files.ModelFileError, match="CRC"):
        model_files.read("m.pt", bytes(data))
    with _spooled(bytes(data), tmp_path, "m.pt") as f, pytest.raises(model_files.ModelFileError, match="CRC"):
        model_files.read("m.pt", model_files.read_upload(f, len(data)))
