"""The rehearsal's coverage table and its reviewed list, and the read-back helpers that need no emulator."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from bedrockgate_pipeline.rehearsal import coverage, readback
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import Synthesized

TYPES = st.sets(st.from_regex(r"AWS::[A-Z][a-z]{1,6}::[A-Z][a-z]{1,6}", fullmatch=True), max_size=12)


@settings(max_examples=200, deadline=None)
@given(types=TYPES, data=st.data())
def test_the_table_lists_every_type_once_and_check_fails_exactly_for_unreviewed_or_stale(
    types: set[str], data: st.DataObject
) -> None:
    counts = Counter({kind: data.draw(st.integers(1, 9)) for kind in types})
    created = data.draw(st.sets(st.sampled_from(sorted(types)))) if types else set()
    not_created = sorted(types - created)
    reviewed_types = data.draw(st.sets(st.sampled_from(not_created))) if not_created else set()
    stale = data.draw(st.sets(st.from_regex(r"AWS::Gone::[A-Z][a-z]{1,4}", fullmatch=True), max_size=2))
    reasons = dict.fromkeys(reviewed_types | stale, "why")
    rows = coverage.rows(counts, created, reasons)
    assert [row.type for row in rows] == sorted(types)
    assert all(row.created == (row.type in created) for row in rows)
    assert sum(row.count for row in rows) == sum(counts.values())
    unreviewed = set(not_created) - reviewed_types
    if unreviewed or stale:
        with pytest.raises(coverage.CoverageError) as raised:
            coverage.check(counts, created, reasons)
        assert all(kind in str(raised.value) for kind in unreviewed | stale)
    else:
        coverage.check(counts, created, reasons)
    rendered = coverage.render(rows)
    assert all(f"| {kind} |" in rendered for kind in types)


def test_a_reviewed_type_the_emulator_now_creates_is_stale() -> None:
    with pytest.raises(coverage.CoverageError, match="now creates"):
        coverage.check({"AWS::ECS::Service": 1}, {"AWS::ECS::Service"}, {"AWS::ECS::Service": "was missing"})


def test_the_reviewed_list_gives_a_reason_for_every_type(tmp_path: Path) -> None:
    listed = coverage.reviewed()
    assert listed
    assert all(kind.startswith(("AWS::", "Custom::")) and len(reason) > 20 for kind, reason in listed.items())
    bad = tmp_path / "bad.toml"
    bad.write_text('[not_modelled]\n"AWS::X::Y" = ""\n')
    with pytest.raises(coverage.CoverageError, match="non-empty reason"):
        coverage.reviewed(bad)


def test_the_lambda_code_hash_is_base64_of_the_zips_sha256(tmp_path: Path) -> None:
    path = tmp_path / "f.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): return {}\n")
    expected = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    assert readback.zip_code_sha256(path) == expected


def test_retained_resources_come_from_the_templates_deletion_policy(tmp_path: Path) -> None:
    template = {"Resources": {
        "Db": {"Type": "AWS::RDS::DBCluster", "DeletionPolicy": "Snapshot"},
        "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
        "Queue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete"},
        "Topic": {"Type": "AWS::SNS::Topic"},
    }}  # fmt: skip
    (tmp_path / "s.template.json").write_text(json.dumps(template))
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "s": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "s.template.json", "stackName": "s"},
                    }
                }
            }
        )
    )
    assert readback.retained(tmp_path) == [
        "s/Db (AWS::RDS::DBCluster, Snapshot)",
        "s/Logs (AWS::Logs::LogGroup, Retain)",
    ]


def test_every_type_the_app_synthesizes_is_created_by_the_emulator_or_reviewed(synthesized: Synthesized) -> None:
    """A new resource type the emulator cannot create fails here until it is reviewed (coverage never shrinks)."""
    from bedrockgate_pipeline.rehearsal import emulator  # noqa: PLC0415 -- imports moto (the rehearsal group)

    counts = coverage.template_types(synthesized.out)
    coverage.check(counts, emulator.modelled_types(), coverage.reviewed())
    table = coverage.rows(counts, emulator.modelled_types(), coverage.reviewed())
    created = {row.type for row in table if row.created}
    assert {"AWS::ECS::TaskDefinition", "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::Lambda::Function"} <= created
    assert "AWS::RDS::DBInstance" in emulator.FORCED_PLACEHOLDERS  # modelled by moto, yet only a placeholder here
    assert "AWS::RDS::DBInstance" not in created


def test_the_listener_rules_read_from_the_template_route_phoenix(synthesized: Synthesized) -> None:
    rules = readback._template_rules(synthesized.out)
    assert any("/phoenix/*" in paths for _, paths in rules)
