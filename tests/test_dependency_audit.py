"""`make prove` fails on a known vulnerability with a fix to move to, and only warns without one."""

from __future__ import annotations

from cli.dependency_audit import findings


def test_only_vulnerabilities_with_a_fix_fail_the_audit() -> None:
    report = {
        "dependencies": [
            {"name": "jinja2", "version": "3.1.2", "vulns": [{"id": "GHSA-h5c8", "fix_versions": ["3.1.3"]}]},
            {"name": "ecdsa", "version": "0.19.0", "vulns": [{"id": "GHSA-wj6h", "fix_versions": []}]},
            {"name": "httpx", "version": "0.28.1", "vulns": []},
        ]
    }

    fixable, unfixed = findings(report)

    assert fixable == [("jinja2", "3.1.2", "GHSA-h5c8", "3.1.3")]
    assert unfixed == [("ecdsa", "0.19.0", "GHSA-wj6h", "")]
    assert findings({"dependencies": []}) == ([], [])
