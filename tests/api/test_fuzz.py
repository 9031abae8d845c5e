"""Schemathesis against the app's own OpenAPI, in-process: no 5xx, no response off its
schema, no accepted request that the schema calls invalid.

All of schemathesis' checks run except `positive_data_acceptance`: a request can match the
schema and still be refused for a rule JSON Schema cannot say (inputs T x D but dh T x H,
weights whose shapes disagree), and those refusals are the documented 422s.

The test command runs a short pass (FUZZ_EXAMPLES per operation, default 30); the long run
is `FUZZ_EXAMPLES=300 python -m pytest tests/api/test_fuzz.py` (see README).
"""

from __future__ import annotations

import os
import time

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.main import create_app
from app.training import trainer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

app = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case):
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    if case.path == "/api/train" and case.method.upper() == "POST" and response.status_code == 202:
        # A run the fuzzer started would keep a core busy for up to 30 s: stop it, and wait,
        # so it does not hold one of the two run slots while later tests start theirs.
        run_id = response.json()["id"]
        trainer.cancel(run_id)
        deadline = time.monotonic() + 120
        while trainer.status(run_id)["state"] != "done" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert trainer.status(run_id)["state"] == "done", "a cancelled run did not stop within 120 s"
