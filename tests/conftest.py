"""Session-wide test settings."""

from __future__ import annotations

import os
import tempfile

# Every test (and every server a test starts in-process) uses a throw-away model store,
# never ./data of the working tree.
os.environ["LSTMVIS_DATA_DIR"] = tempfile.mkdtemp(prefix="lstmvis-test-")
# Starlette's TestClient sends `Host: testserver`; the server serves only the names it is told.
os.environ.setdefault("LSTMVIS_ALLOWED_HOSTS", "testserver")
