"""The local ApplyGuardrail: what it masks, what it blocks, and the shape LiteLLM reads."""

from __future__ import annotations

from typing import Any

from bedrockgate.local_stack.guardrail import EMAIL, GuardrailPolicy, apply_guardrail
from hypothesis import given, settings
from hypothesis import strategies as st

POLICY = GuardrailPolicy(blocked_words=("forbidden-topic", "bananas"))

local_parts = st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True)
domains = st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(com|org|co\.uk|io)", fullmatch=True)
emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
filler = st.text(st.sampled_from("abcdefghij ,.!?"), max_size=40)


def request(*texts: str, source: str = "INPUT") -> dict[str, Any]:
    return {"source": source, "content": [{"text": {"text": text}} for text in texts]}


@settings(max_examples=200)
@given(before=filler, address=emails, after=filler)
def test_no_email_address_survives_anonymisation(before: str, address: str, after: str) -> None:
    result = apply_guardrail(request(f"{before} {address} {after}"), POLICY)
    assert result["action"] == "GUARDRAIL_INTERVENED"
    [output] = result["outputs"]
    assert address not in output["text"]
    assert "{EMAIL}" in output["text"]
    assert not EMAIL.search(output["text"])
    entities = result["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"]
    assert {"match": address, "type": "EMAIL", "action": "ANONYMIZED"} in entities


@settings(max_examples=200)
@given(text=filler)
def test_text_without_pii_or_blocked_words_passes_untouched(text: str) -> None:
    result = apply_guardrail(request(text), POLICY)
    assert result["action"] == "NONE"
    assert result["outputs"] == []
    assert result["assessments"] == []


@settings(max_examples=100)
@given(before=filler, after=filler, word=st.sampled_from(["bananas", "BANANAS", "Forbidden-Topic"]))
def test_a_blocked_word_blocks_with_the_configured_message(before: str, after: str, word: str) -> None:
    result = apply_guardrail(request(f"{before} {word} {after}"), POLICY)
    assert result["action"] == "GUARDRAIL_INTERVENED"
    assert result["outputs"] == [{"text": POLICY.blocked_message}]
    [custom] = result["assessments"][0]["wordPolicy"]["customWords"]
    assert custom["action"] == "BLOCKED"


def test_phone_numbers_are_masked_but_short_numbers_are_not() -> None:
    result = apply_guardrail(request("Call +1 (206) 555-0100 about order 4521."), POLICY)
    [output] = result["outputs"]
    assert output["text"] == "Call {PHONE} about order 4521."


def test_each_content_block_gets_its_own_output_in_order() -> None:
    result = apply_guardrail(request("mail a@b.io", "nothing here", "c@d.org"), POLICY)
    assert [o["text"] for o in result["outputs"]] == ["mail {EMAIL}", "nothing here", "{EMAIL}"]


def test_a_word_inside_another_word_is_not_blocked() -> None:
    assert apply_guardrail(request("bananasplit is one word"), POLICY)["action"] == "NONE"
