"""ApplyGuardrail, locally: anonymise e-mail addresses and phone numbers, block listed words.

The response has the documented shape (``action``, ``outputs``, ``assessments`` with
``sensitiveInformationPolicy.piiEntities`` and ``wordPolicy.customWords``), which is what
LiteLLM's Bedrock guardrail hook reads to mask a request or block it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Loose on purpose: 7+ digits with the usual separators, optionally international.
PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{5,}\d(?!\w)")
_PHONE_MIN_DIGITS = 7

DEFAULT_BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."


@dataclass(frozen=True)
class GuardrailPolicy:
    """What the local guardrail does: the blocked words and the message Bedrock returns instead."""

    blocked_words: tuple[str, ...] = ()
    blocked_message: str = DEFAULT_BLOCKED_MESSAGE
    anonymise: bool = True


@dataclass
class _Findings:
    pii: list[dict[str, str]] = field(default_factory=list)
    words: list[dict[str, str]] = field(default_factory=list)


def _phone_matches(text: str) -> Iterable[re.Match[str]]:
    return (m for m in PHONE.finditer(text) if sum(c.isdigit() for c in m.group()) >= _PHONE_MIN_DIGITS)


def _anonymise(text: str, findings: _Findings) -> str:
    def replace(kind: str) -> Any:
        def substitute(match: re.Match[str]) -> str:
            findings.pii.append({"match": match.group(), "type": kind, "action": "ANONYMIZED"})
            return "{" + kind + "}"

        return substitute

    text = EMAIL.sub(replace("EMAIL"), text)
    spans = [(m.start(), m.end(), m.group()) for m in _phone_matches(text)]
    for start, end, matched in reversed(spans):
        findings.pii.append({"match": matched, "type": "PHONE", "action": "ANONYMIZED"})
        text = text[:start] + "{PHONE}" + text[end:]
    return text


def _blocked_words(text: str, words: Sequence[str]) -> list[str]:
    return [w for w in words if w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.IGNORECASE)]


def apply_guardrail(body: Mapping[str, Any], policy: GuardrailPolicy) -> dict[str, Any]:
    """The ApplyGuardrail response for a request body (``source`` + ``content[].text.text``)."""
    texts = [
        str(block.get("text", {}).get("text", ""))
        for block in body.get("content", [])
        if isinstance(block, Mapping) and isinstance(block.get("text"), Mapping)
    ]
    findings = _Findings()
    for text in texts:
        findings.words.extend({"match": w, "action": "BLOCKED"} for w in _blocked_words(text, policy.blocked_words))
    if findings.words:
        outputs = [{"text": policy.blocked_message}]
    else:
        outputs = [{"text": _anonymise(t, findings) if policy.anonymise else t} for t in texts]
    assessment: dict[str, Any] = {}
    if findings.pii:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": findings.pii, "regexes": []}
    if findings.words:
        assessment["wordPolicy"] = {"customWords": findings.words, "managedWordLists": []}
    intervened = bool(findings.pii or findings.words)
    characters = sum(len(t) for t in texts)
    return {
        "usage": {
            "topicPolicyUnits": 0,
            "contentPolicyUnits": 0,
            "wordPolicyUnits": -(-characters // 1000) if policy.blocked_words else 0,
            "sensitiveInformationPolicyUnits": -(-characters // 1000),
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
        },
        "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
        "actionReason": "Guardrail blocked." if findings.words else ("Guardrail masked." if intervened else ""),
        "outputs": outputs if intervened else [],
        "assessments": [assessment] if intervened else [],
        "guardrailCoverage": {"textCharacters": {"guarded": characters, "total": characters}},
    }
