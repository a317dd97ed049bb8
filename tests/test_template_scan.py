"""Static scans of template.yaml: cfn-lint clean, checkov with zero failed checks, every skip justified.

checkov runs from its own virtualenv (.venv-scan, requirements-scan.txt): installed into .venv it would
downgrade boto3/botocore/cachetools/packaging. It is always run with --skip-download (otherwise it calls
the Prisma Cloud API) and CKV_SKIP_PACKAGE_UPDATE_CHECK (no PyPI version check): the scan is offline.
Without a Prisma API key checkov reports no severities, so the bar is every check: none may fail, and each
skip must carry its reason in the resource's `Metadata: checkov: skip: [{id, comment}]`.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.conftest import ROOT, require

TEMPLATE = ROOT / "template.yaml"
CFN_LINT = ROOT / ".venv" / "bin" / "cfn-lint"
CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"
# What checkov records for a Metadata skip without a comment: not a justification.
NO_COMMENT = "No comment provided"


def test_cfn_lint_clean() -> None:
    require(os.path.exists(CFN_LINT), "cfn-lint not installed: make venv")
    result = subprocess.run([str(CFN_LINT), str(TEMPLATE)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def checkov_report() -> dict[str, Any]:
    require(os.path.exists(CHECKOV), "checkov not installed: make venv")
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    env.pop("BC_API_KEY", None)  # never talk to the Prisma Cloud platform from a test
    result = subprocess.run(
        [str(CHECKOV), "-f", "template.yaml", "--framework", "cloudformation", "--skip-download", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    # exit 1 = failed checks (reported below, with the JSON); anything else is a crash.
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    # One framework gives one report object; a list would mean several were scanned.
    assert isinstance(report, dict) and report.get("check_type") == "cloudformation", result.stdout[:2000]
    return report


def test_checkov_no_failed_checks_and_every_skip_justified() -> None:
    report = checkov_report()
    summary = report["summary"]
    results = report["results"]
    assert summary["parsing_errors"] == 0, results.get("parsing_errors")
    assert summary["passed"] > 0, "checkov evaluated nothing: the template was not scanned"

    failed = [
        f"{c['check_id']} {c['check_name']} on {c['resource']} (lines {c['file_line_range']})"
        for c in results.get("failed_checks", [])
    ]
    assert not failed, "checkov failed checks (fix them, or skip on the resource with a reason):\n" + "\n".join(failed)

    unjustified = []
    for check in results.get("skipped_checks", []):
        comment = (check["check_result"].get("suppress_comment") or "").strip()
        if not comment or comment == NO_COMMENT:
            unjustified.append(f"{check['check_id']} on {check['resource']}")
    assert not unjustified, "checkov skips without a justification (Metadata checkov skip comment):\n" + "\n".join(
        unjustified
    )
