"""Schema-driven fuzzing: schemathesis generates requests from the app's own OpenAPI, in process (ASGI).

Every check runs (as ``st run --checks all``): no 5xx, documented status codes, content types,
response schemas and headers, schema-invalid data refused, schema-valid data accepted, 405 (with
Allow) for a method the document does not list, and the rest. The only configuration is the
repository's schemathesis.toml (413 counts as a refusal; the CLI reads the same file); nothing is
excluded or re-interpreted here.

The schema is loaded at import from an app built over the committed models (building it loads
no model; requests do). ``schemathesis.pytest.from_fixture`` would be the lazier route, but it
breaks on pytest 9 (it reads the private ``Function._nodeid``).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from hypothesis import HealthCheck, settings

from tests.conftest import MODELS_DIR, ROOT, require, settings_env


def _app() -> Any:
    from serving.bootstrap import build_app
    from serving.config import load_settings

    return build_app(load_settings(settings_env(MODELS_DIR)))


if importlib.util.find_spec("schemathesis") is None:  # reported by the test below, which fails under CI

    def test_schemathesis_is_installed():
        require(False, "schemathesis not installed (pip install -r requirements-dev.txt)")

else:
    import schemathesis

    config = schemathesis.Config.from_path(ROOT / "schemathesis.toml")
    config.projects.override.checks.update(included_check_names=["all"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", _app(), config=config)

    # Deterministic (derandomize: the examples depend on the test only) and bounded: the five operations
    # through the examples, coverage and fuzzing phases in well under a minute.
    @schema.parametrize()
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    def test_api_conforms_to_its_own_openapi(case: Any) -> None:
        require((MODELS_DIR / "v1" / "manifest.json").is_file(), f"no committed models under {MODELS_DIR}")
        case.call_and_validate()
