"""`python -m cli.dependency_audit`: known vulnerabilities in the locked dependencies (pip-audit over
requirements.lock, the pinned set `make install` uses).

Fails (exit 1) on a vulnerability that has a fixed version to move to; one with no fix yet is
listed as a warning, since there is nothing to upgrade to. `make prove` runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
Finding = tuple[str, str, str, str]  # package, version, vulnerability ID, fixed versions


def findings(report: dict[str, Any]) -> tuple[list[Finding], list[Finding]]:
    """pip-audit's JSON report split into (vulnerabilities with a fix, without one)."""
    fixable: list[Finding] = []
    unfixed: list[Finding] = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            row = (dep["name"], dep["version"], vuln["id"], ", ".join(vuln.get("fix_versions", [])))
            (fixable if vuln.get("fix_versions") else unfixed).append(row)
    return fixable, unfixed


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    # the pinned set every install uses (all pinned, so no resolution is needed); else this venv
    source = ["-r", str(LOCK), "--no-deps", "--disable-pip"] if LOCK.is_file() else ["--skip-editable"]
    run = subprocess.run(
        [str(pip_audit), "--format", "json", "--progress-spinner", "off", *source],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"dependency audit: pip-audit gave no report (exit {run.returncode}): {run.stderr.strip()}")
        return 2
    fixable, unfixed = findings(report)
    print(f"dependency audit: {len(report.get('dependencies', []))} packages checked")
    for name, version, vuln_id, fix in fixable:
        print(f"  FIX AVAILABLE  {name} {version}: {vuln_id} → upgrade to {fix}")
    for name, version, vuln_id, _ in unfixed:
        print(f"  no fix yet     {name} {version}: {vuln_id}")
    if fixable:
        print(f"dependency audit: {len(fixable)} known vulnerabilities with a fix available")
        return 1
    print("dependency audit: no known vulnerability with a fix available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
