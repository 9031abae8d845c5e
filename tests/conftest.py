"""Session-wide test settings."""

from __future__ import annotations

import os
import tempfile

import pytest

# Every test (and every server a test starts in-process) uses a throw-away model store,
# never ./data of the working tree.
os.environ["LSTMVIS_DATA_DIR"] = tempfile.mkdtemp(prefix="lstmvis-test-")
# Starlette's TestClient sends `Host: testserver`; the server serves only the names it is told.
os.environ.setdefault("LSTMVIS_ALLOWED_HOSTS", "testserver")


@pytest.fixture(autouse=True)
def _torch_default_dtype(request):
    """torch's default dtype per test module: float32 unless the module sets TORCH_DTYPE.

    A module-level torch.set_default_dtype would leak into every module collected in the same
    worker (all are imported before any test runs), making, say, an ONNX export float64.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None:  # not imported by this test's module: nothing to set
        yield
        return
    wanted = getattr(request.module, "TORCH_DTYPE", torch.float32)
    before = torch.get_default_dtype()
    torch.set_default_dtype(wanted)
    yield
    torch.set_default_dtype(before)
