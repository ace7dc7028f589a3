"""The audit's verdict: an audit that did not run is never a pass (defect: it failed open)."""

from __future__ import annotations

from typing import Any

from bedrockgate_pipeline.audit import verdict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
dependency = st.fixed_dictionaries(
    {"name": NAMES, "version": st.just("1.0")},
    optional={
        "vulns": st.lists(
            st.fixed_dictionaries({"id": st.from_regex(r"GHSA-[a-z0-9]{4}", fullmatch=True)}), max_size=2
        ),
        "skip_reason": st.just("Dependency not found on PyPI and could not be audited"),
    },
)
reports = st.one_of(st.none(), st.fixed_dictionaries({"dependencies": st.lists(dependency, max_size=6)}))
outputs = st.sampled_from(["", "No known vulnerabilities found", "ERROR: x: could not be audited: x (1.0)", "boom"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])  # nested dicts are slow to draw
@given(returncode=st.sampled_from([0, 1, 2]), report=reports, output=outputs)
def test_a_pass_needs_a_clean_exit_a_report_no_skip_and_no_vulnerability(
    returncode: int, report: dict[str, Any] | None, output: str
) -> None:
    found = verdict(returncode, report, output)
    dependencies = report["dependencies"] if report else []
    skipped = any(d.get("skip_reason") for d in dependencies) or "could not be audited" in output
    vulnerable = any(d.get("vulns") for d in dependencies)
    assert found.passed == (returncode == 0 and report is not None and not skipped and not vulnerable)
    if vulnerable:
        assert found.status == "failed"
        assert "known vulnerabilities" in found.describe()
    elif skipped:
        assert found.status == "not-run"
        assert "not a pass" in found.describe()


def test_what_this_machine_gets_is_recorded_as_not_run() -> None:
    output = "ERROR:pip_audit._cli:idna: Dependency not found on PyPI and could not be audited: idna (3.10)\n" * 3
    found = verdict(1, None, output)
    assert found.status == "not-run"
    assert found.describe().startswith("audit not run: 3 packages could not be audited")


def test_no_route_to_the_advisory_data_is_not_run_not_failed() -> None:
    """Found by the harness: with no network pip-audit raises ConnectionError before any report."""
    output = (
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded "
        "with url: /pypi/idna/3.10/json (Caused by NameResolutionError(... Temporary failure in name resolution))"
    )
    found = verdict(1, None, output)
    assert found.status == "not-run"
    assert "no vulnerability source reachable" in found.describe()
    assert verdict(1, None, "Traceback: KeyError: 'x'").status == "failed"
