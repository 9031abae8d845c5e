"""PyTorch zip checkpoints read without torch and without running anything from the pickle.

Real files come from torch.save at test time; the hostile ones are pickles built by hand
(opcodes and __reduce__ classes) inside a valid checkpoint layout. Each hostile test sets a
marker path of its own and proves the would-be side effect did not happen.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import limits, model_files, torch_checkpoint
from app.archive_checks import CheckedZip
from tests.weight_files import Member, raw_zip, torch_zip

torch = pytest.importorskip("torch")
nn = torch.nn


def saved(obj, **kw) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def arrays(data: bytes) -> dict[str, np.ndarray]:
    return torch_checkpoint.read(CheckedZip(data, model_files.ZIP_BUDGET), "m.pt")


def refused(data: bytes, match: str, status: int = 422, filename: str = "m.pt") -> model_files.ModelFileError:
    with pytest.raises(model_files.ModelFileError, match=match) as info:
        model_files.read(filename, data)
    assert info.value.status == status, info.value
    return info.value


def same(back: dict[str, np.ndarray], expected: dict) -> None:
    assert set(back) == set(expected)
    for name, t in expected.items():
        want = t.detach().double().numpy()
        assert back[name].dtype == np.float64 and back[name].shape == want.shape, name
        np.testing.assert_array_equal(back[name], want, err_msg=name)


class Net(nn.Module):
    def __init__(self, cell: type, dtype=torch.float64):
        super().__init__()
        self.lstm = cell(3, 4, num_layers=2, dtype=dtype)
        self.fc = nn.Linear(4, 2, dtype=dtype)


# --- real files ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
def test_a_state_dict_reads_exactly(cell, dtype):
    torch.manual_seed(0)
    rnn = cell(3, 4, num_layers=2, dtype=dtype)
    same(arrays(saved(rnn.state_dict())), rnn.state_dict())
    net = Net(cell, dtype)
    same(model_files.read("net.pth", saved(net.state_dict())), net.state_dict())


def test_a_training_checkpoint_gives_its_model_and_ignores_the_rest():
    torch.manual_seed(1)
    net = Net(nn.LSTM)
    opt = torch.optim.Adam(net.parameters())
    net.fc(net.lstm(torch.randn(5, 3, dtype=torch.float64))[0]).sum().backward()
    opt.step()
    sd = net.state_dict()
    data = saved({"epoch": 3, "model_state_dict": sd, "optimizer_state_dict": opt.state_dict(), "loss": 0.5})
    same(model_files.read("ckpt.bin", data), sd)  # by content: any name


def test_a_lightning_checkpoint_loses_its_model_prefix():
    torch.manual_seed(2)
    net = Net(nn.GRU)
    sd = {f"model.{k}": v for k, v in net.state_dict().items()}
    back = model_files.read("epoch=3.ckpt", saved({"state_dict": sd, "epoch": 3, "hyper_parameters": {"lr": 0.1}}))
    same(back, net.state_dict())  # lstm.weight_ih_l0, fc.weight, ...


def test_parameters_views_and_half_precisions():
    torch.manual_seed(3)
    base = torch.randn(6, 5, dtype=torch.float64)
    tensors = {
        "transposed": base.t(),  # saved as-is: stride (1, 5) over the whole storage
        "strided": base[1:5:2, ::2],  # offset 5, stride (10, 2)
        "broadcast": torch.randn(3, 1).expand(3, 4),  # stride 0
        "bf16": torch.randn(4, 3).to(torch.bfloat16),
        "fp16": torch.randn(2, 3).to(torch.float16),
        "param": nn.Parameter(torch.randn(3)),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }
    same(arrays(saved(tensors)), tensors)


def test_a_legacy_pickle_is_refused_with_how_to_resave():
    data = saved(nn.LSTM(2, 3).state_dict(), _use_new_zipfile_serialization=False)
    for name in ("m.pt", "m.npz", "weights"):
        err = refused(data, "bare pickle", filename=name)
        assert "torch.save(model.state_dict(), 'm.pt')" in str(err) and "safetensors" in str(err)
    refused(b"(dp0\nS'w'\np1\n.", "bare pickle", filename="m.pkl")  # protocol 0: no header


def test_a_whole_pickled_module_is_refused_naming_its_class():
    err = refused(saved(nn.LSTM(2, 3)), r"refuses the global torch\.nn\.modules\.rnn\.LSTM")
    assert "state_dict" in str(err)


# --- hostile pickles ----------------------------------------------------------------------


class Call:
    """Pickles as a call of fn(*args), as a hostile file would."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def global_call(module: str, name: str, *args) -> bytes:
    """A protocol-2 pickle calling module.name(*args) through GLOBAL and REDUCE."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + pickle.dumps(args, protocol=2)[2:-1] + b"R."


def unicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def stack_global(module: str, name: str) -> bytes:
    return unicode(module) + unicode(name) + b"\x93"


def getattr_chain(command: str) -> bytes:
    """getattr(__import__('os'), 'system')(command), every global found by STACK_GLOBAL."""
    return (
        b"\x80\x04"
        + stack_global("builtins", "getattr")
        + b"("
        + stack_global("builtins", "__import__")
        + b"("
        + unicode("os")
        + b"tR"
        + unicode("system")
        + b"tR("
        + unicode(command)
        + b"tR."
    )


def touch(marker) -> str:
    return f"open({str(marker)!r}, 'w').close()"


HOSTILE = {
    "os.system": (lambda m: global_call("os", "system", f"touch {m}"), r"os\.system"),
    "posix.system": (lambda m: pickle.dumps(Call(os.system, f"touch {m}"), protocol=2), r"posix\.system"),
    "builtins.eval": (lambda m: global_call("builtins", "eval", touch(m)), r"builtins\.eval"),
    "builtins.exec": (lambda m: global_call("builtins", "exec", touch(m)), r"builtins\.exec"),
    "__builtin__.eval (protocol 2)": (lambda m: pickle.dumps(Call(eval, touch(m)), protocol=2), r"__builtin__\.eval"),
    "subprocess.Popen": (
        lambda m: pickle.dumps(Call(subprocess.Popen, ["touch", str(m)]), protocol=4),
        r"subprocess\.Popen",
    ),
    "getattr chain": (lambda m: getattr_chain(f"touch {m}"), r"builtins\.getattr"),
    "inside a state_dict": (
        lambda m: pickle.dumps({"epoch": 1, "extra": Call(os.system, f"touch {m}")}, protocol=2),
        r"posix\.system",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_pickle_calling_anything_else_is_refused_before_it_runs(tmp_path, case):
    marker = tmp_path / f"PWNED_{case.replace(' ', '_')}"
    make, names = HOSTILE[case]
    data = torch_zip(make(marker))
    refused(data, f"refuses the global {names}")
    assert not marker.exists()


@pytest.mark.parametrize(
    "body,opcode",
    [
        (b"(S'true'\nios\nsystem\n.", "INST"),
        (b"\x80\x02(ccollections\nOrderedDict\no.", "OBJ"),
        (b"\x80\x02ccollections\nOrderedDict\n)\x81.", "NEWOBJ"),
        (b"\x80\x02\x82\x01.", "EXT1"),
        (b"\x80\x02\x83\x01\x00.", "EXT2"),
        (b"\x80\x04\x8f\x94.", "EMPTY_SET"),
        (b"\x80\x02]}b.", "BUILD"),  # state set on a list
        (b"\x80\x05\x97.", "NEXT_BUFFER"),
        (b"\x80\x02\xff.", "byte 0xff"),
    ],
)
def test_opcodes_that_build_objects_are_refused_by_name(body, opcode):
    refused(torch_zip(body), opcode)


def test_a_mapped_function_cannot_be_reached_through_reduce_of_something_else():
    # REDUCE on a value that is not one of the mapped globals: a storage type "called".
    refused(torch_zip(global_call("torch", "FloatStorage", 3)), r"calls a _StorageType \(REDUCE\)")


def value(x) -> bytes:
    """The opcodes that push x (protocol 2, no memo), to splice into a hand-built pickle."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=2)
    pickler.fast = True
    pickler.dump(x)
    return buf.getvalue()[2:-1]


def tensor_ops(kind: str, key, numel, offset, size, stride, storage: bytes | None = None) -> bytes:
    """_rebuild_tensor_v2(<persistent storage>, offset, size, stride, False, OrderedDict())."""
    if storage is None:
        storage = b"(" + value("storage") + f"ctorch\n{kind}\n".encode() + value(key) + value("cpu")
        storage += value(numel) + b"tQ"
    hooks = b"ccollections\nOrderedDict\n)R"
    args = storage + value(offset) + value(size) + value(stride) + b"\x89" + hooks
    return b"ctorch._utils\n_rebuild_tensor_v2\n(" + args + b"tR"


def rebuild(storage_pid: tuple, offset: int, size: tuple, stride: tuple) -> bytes:
    """{'w': one tensor}, its storage given as (storage class, key, numel)."""
    return b"\x80\x02}" + value("w") + tensor_ops(*storage_pid, offset, size, stride) + b"s."


def test_a_hand_built_tensor_reads_like_torchs():
    data = np.arange(12, dtype="<f4").tobytes()
    body = rebuild(("FloatStorage", "0", 12), 2, (2, 3), (1, 2))
    back = model_files.read("m.pt", torch_zip(body, {"0": data}))
    np.testing.assert_array_equal(back["w"], np.arange(12.0)[2:][np.arange(2)[:, None] + 2 * np.arange(3)])


def test_the_byteorder_member_is_obeyed():
    body = rebuild(("FloatStorage", "0", 3), 0, (3,), (1,))
    big = np.array([1.5, -2.0, 3.25], dtype=">f4").tobytes()
    back = model_files.read("m.pt", torch_zip(body, {"0": big}, byteorder=b"big"))
    assert back["w"].tolist() == [1.5, -2.0, 3.25]
    refused(torch_zip(body, {"0": big}, byteorder=b"middle"), "byteorder member says 'middle'")


@pytest.mark.parametrize(
    "offset,size,stride",
    [(0, (4, 4), (4, 1)), (10, (3,), (1,)), (0, (2, 2), (1, 11)), (13, (0,), (1,)), (0, (2,), (-1,))],
)
def test_a_tensor_reaching_beyond_its_storage_is_refused(offset, size, stride):
    body = rebuild(("FloatStorage", "0", 12), offset, size, stride)
    refused(torch_zip(body, {"0": bytes(48)}), "reaches|stride")


def test_a_fake_storage_is_refused():
    for fake in (value("not a storage"), value(("storage", "0", "cpu", 2)), b"ctorch\nFloatStorage\n"):
        body = b"\x80\x02}" + value("w") + tensor_ops("", "", 0, 0, (2,), (1,), storage=fake) + b"s."
        refused(torch_zip(body, {"0": bytes(8)}), "other than a storage")


def test_storage_sizes_must_agree_with_their_members():
    huge = rebuild(("DoubleStorage", "0", 2**40), 0, (2,), (1,))
    refused(torch_zip(huge, {"0": bytes(16)}), r"declares storage archive/data/0 as 1099511627776 numbers")
    refused(torch_zip(rebuild(("DoubleStorage", "0", 2), 0, (2,), (1,)), {"0": bytes(12)}), "holds 12 bytes")
    refused(torch_zip(rebuild(("DoubleStorage", "7", 2), 0, (2,), (1,))), "does not hold")


def test_a_broadcast_over_the_element_budget_is_refused_unexpanded():
    n = 2**20
    body = rebuild(("DoubleStorage", "0", 1), 0, (n, n), (0, 0))
    refused(torch_zip(body, {"0": bytes(8)}), f"at most {limits.MAX_UPLOAD_ELEMENTS}", status=413)


def test_member_names_outside_the_archive_are_refused():
    state = pickle.dumps({"epoch": 1}, protocol=2)
    refused(torch_zip(state, prefix="../"), r"'../data.pkl' names a path outside")
    refused(torch_zip(state, {"../../x": b""}), "outside the archive")
    escape = rebuild(("DoubleStorage", "../../etc/passwd", 1), 0, (1,), (1,))
    refused(torch_zip(escape), r"names the storage '../../etc/passwd'")


def test_nesting_is_bounded_and_never_recursed_over():
    refused(torch_zip(b"\x80\x02" + b"(" * 100_000 + b"."), "nests deeper", status=413)
    deep_list = b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."
    refused(torch_zip(deep_list), "holds a list, not a state_dict")
    deep_key = b"\x80\x02}" + b"N" + b"\x85" * 100_000 + b"Ns."
    refused(torch_zip(deep_key), "dict key of type tuple")
    looped = b"\x80\x02]q\x00h\x00a."  # a list holding itself
    refused(torch_zip(looped), "holds a list")


def test_limits_on_the_pickle_and_its_tensors():
    refused(torch_zip(b"\x80\x02N" + b"0N" * limits.MAX_CHECKPOINT_PICKLE_BYTES + b"."), "data.pkl declares", 413)
    one = tensor_ops("DoubleStorage", "0", 1, 0, (1,), (1,))
    many = b"\x80\x02(" + one * (limits.MAX_CHECKPOINT_TENSORS + 1) + b"l."
    refused(torch_zip(many, {"0": bytes(8)}), f"more than {limits.MAX_CHECKPOINT_TENSORS} tensors", 413)


def test_garbage_and_truncated_pickles_are_named():
    refused(torch_zip(b"\x80\x02}X\xff\xff\xff\x7fabc"), "not a valid pickle")
    refused(torch_zip(b"\x80\x02h\x05."), "not a valid pickle")
    refused(torch_zip(b"\x80\x02."), "not a valid pickle")
    refused(torch_zip(pickle.dumps([1, 2], protocol=2)), "holds a list")
    refused(torch_zip(pickle.dumps({"epoch": 3}, protocol=2)), "holds no tensors")
    refused(raw_zip([Member.stored("a/data.pkl", b""), Member.stored("b/data.pkl", b"")]), "2 data.pkl")


def test_the_reader_works_without_torch(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(saved(nn.GRU(2, 3).state_dict()))
    code = (
        "import sys; sys.modules['torch'] = None  # import torch now fails\n"
        "from app import model_files\n"
        "print(sorted(model_files.read('m.pt', open(sys.argv[1], 'rb').read())))"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "weight_hh_l0" in done.stdout


# --- mutated real pickles: a state_dict or a named refusal, nothing else -------------------


def _real_parts() -> tuple[bytes, dict[str, bytes]]:
    torch.manual_seed(7)
    data = saved(Net(nn.LSTM, torch.float32).state_dict())
    archive = CheckedZip(data, model_files.ZIP_BUDGET)
    parts = {}
    for info in archive.members:
        stream = archive.open(info)
        parts[info.filename] = stream.read(info.file_size)
    prefix = next(n for n in parts if n.endswith("data.pkl"))[: -len("data.pkl")]
    storages = {n[len(prefix + "data/") :]: b for n, b in parts.items() if n.startswith(prefix + "data/")}
    return parts[prefix + "data.pkl"], storages


REAL = _real_parts()


@given(st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_mutated_pickle_is_read_or_refused_by_name(data):
    pkl, storages = REAL
    body = bytearray(pkl)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.integers(0, 255))
        if action == "flip":
            body[at] = byte
        elif action == "insert":
            body.insert(at, byte)
        elif len(body) > 1:
            del body[at]
    try:
        back = model_files.read("m.pt", torch_zip(bytes(body), storages))
    except model_files.ModelFileError as err:
        assert str(err).startswith("m.pt") and err.status in (413, 422)
    else:
        assert all(a.dtype == np.float64 for a in back.values())
