"""Emulator settings: the first matching rule wins, and a bad file is refused naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from bedrockgate.local_stack.exceptions import MappingError
from bedrockgate.local_stack.settings import (
    EMBEDDED_RULES,
    SCRIPTED_RULES,
    BackendRule,
    EmulatorSettings,
    load_settings,
)
from hypothesis import given, settings
from hypothesis import strategies as st

model_ids = st.from_regex(r"(us\.|eu\.)?[a-z]{3,10}\.[a-z0-9-]{3,30}(-v[0-9]:[0-9])?", fullmatch=True)


@settings(max_examples=200)
@given(model_id=model_ids)
def test_embedding_ids_go_to_embedding_backends_and_the_rest_to_chat(model_id: str) -> None:
    for rules, embedding in ((EMBEDDED_RULES, "minilm"), (SCRIPTED_RULES, "scripted-embedding")):
        backend = EmulatorSettings(rules=rules).rule_for(model_id).backend
        assert (backend == embedding) == ("embed" in model_id)


@settings(max_examples=100)
@given(model_id=model_ids, backend=st.sampled_from(["scripted", "smollm2"]))
def test_the_first_matching_rule_wins(model_id: str, backend: str) -> None:
    rules = (BackendRule.model_validate({"match": model_id, "backend": backend}), *SCRIPTED_RULES)
    assert EmulatorSettings(rules=rules).rule_for(model_id).backend == backend


def test_a_model_no_rule_matches_is_named_with_the_rules() -> None:
    only = EmulatorSettings(rules=(BackendRule(match="anthropic.*", backend="scripted"),))
    with pytest.raises(MappingError, match=r"'amazon.nova-pro-v1:0'; rules: anthropic\.\*"):
        only.rule_for("amazon.nova-pro-v1:0")


def test_a_settings_file_with_a_typo_names_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "emulator.yaml"
    path.write_text("rules:\n  - {match: '*', backend: smollm}\nfaults:\n  '*': {throttle_rate: 3}\n")
    with pytest.raises(MappingError) as raised:
        load_settings(path)
    message = str(raised.value)
    assert str(path) in message
    assert "rules.0.backend" in message
    assert "faults.*.throttle_rate" in message


def test_a_settings_file_round_trips(tmp_path: Path) -> None:
    original = EmulatorSettings(rules=SCRIPTED_RULES, scripted_latency_ms=25, seed=4)
    path = tmp_path / "emulator.json"
    path.write_text(original.model_dump_json())
    assert load_settings(path) == original
