"""A schema-driven fuzz run of the web API (schemathesis): whatever the schema allows, and
what it does not, the server answers without a 5xx."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from gradscape.web.app import create_app

# An app of its own (schemathesis loads the schema when this module is collected): its temporary
# space goes with the interpreter, and its jobs stop within a second, so fuzzed jobs cannot
# pile up.
_SPACE = tempfile.TemporaryDirectory(prefix="gradscape-fuzz-")
_APP = create_app(Path(_SPACE.name))
_APP.state.jobs.seconds = 1.0
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs() -> Iterator[None]:
    """Fuzzed jobs end with the module (a job thread left running at exit could abort it)."""
    yield
    assert _APP.state.jobs.shutdown()


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_no_input_makes_a_server_error(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error])
