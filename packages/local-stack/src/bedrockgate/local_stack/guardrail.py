"""ApplyGuardrail, locally: anonymise PII, block listed words, content-filter terms and prompt attacks.

What each policy stands in for (Bedrock's own are models; these are lists, so tests can predict them):
- sensitive information: e-mail addresses and phone numbers are ANONYMIZED (``{EMAIL}``, ``{PHONE}``);
- words: each configured word BLOCKS (``wordPolicy.customWords``);
- content filters: a configured list of terms per category (HATE, INSULTS, SEXUAL, VIOLENCE,
  MISCONDUCT) BLOCKS with that category (``contentPolicy.filters``), on input and output alike;
- prompt attacks: a small list of patterns ("ignore previous instructions", "you are now DAN", ...)
  BLOCKS as ``PROMPT_ATTACK``, on ``source: INPUT`` only, as Bedrock's filter applies to prompts only.

The response has the documented shape (``usage``, ``action``, ``outputs``, ``assessments``,
``guardrailCoverage``). LiteLLM 1.106.2's Bedrock hook raises a block when any assessment entry has
``action: BLOCKED`` (its ``_should_raise_guardrail_blocked_exception``) and otherwise replaces the
text with ``outputs[].text`` when masking is on, so a masked text must carry only ANONYMIZED
entries and a blocked one at least one BLOCKED entry. A blocked text's output is the configured
message alone, as Bedrock's blocked messaging is. Usage counts text units as Bedrock bills them
(up to 1,000 characters each, per content block) in the field of each policy that is configured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Loose on purpose: 7+ digits with the usual separators, optionally international; not a piece of
# a longer token (``claude-haiku-4-5-20251001-v1:0`` holds no phone number).
PHONE = re.compile(r"(?<![\w+.-])\+?\d[\d ().-]{5,}\d(?![\w-])")
_PHONE_MIN_DIGITS = 7
_TEXT_UNIT_CHARACTERS = 1000

ContentCategory = Literal["HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT"]
FilterStrength = Literal["LOW", "MEDIUM", "HIGH"]
CONTENT_CATEGORIES: Final[tuple[ContentCategory, ...]] = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT")

DEFAULT_BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."
# Stand-ins for the categories: plain phrases a test (or a developer) can type to see a block.
DEFAULT_CONTENT_FILTERS: Final[dict[ContentCategory, tuple[str, ...]]] = {
    "HATE": ("hate-speech-example",),
    "INSULTS": ("you idiot", "insult-example"),
    "SEXUAL": ("sexual-content-example",),
    "VIOLENCE": ("build a bomb", "violence-example"),
    "MISCONDUCT": ("launder money", "misconduct-example"),
}
DEFAULT_PROMPT_ATTACKS: Final[tuple[str, ...]] = (
    r"ignore (all )?(the )?(previous|prior|above) (instructions|prompts?|rules)",
    r"disregard (all )?(the )?(previous|prior|above|your) (instructions|rules|guidelines)",
    r"you are now (DAN|in developer mode)",
    r"\bDAN mode\b",
    r"(reveal|print|show|repeat) (me )?(your|the) (system prompt|hidden instructions|initial instructions)",
    r"pretend (that )?you have no (rules|restrictions|guidelines)",
)


@dataclass(frozen=True)
class GuardrailPolicy:
    """What the local guardrail does: its lists, and the message Bedrock returns instead of a blocked text."""

    blocked_words: tuple[str, ...] = ()
    blocked_message: str = DEFAULT_BLOCKED_MESSAGE
    anonymise: bool = True
    content_filters: Mapping[ContentCategory, Sequence[str]] = field(default_factory=dict)
    filter_strength: FilterStrength = "HIGH"
    prompt_attacks: tuple[str, ...] = ()
    _attack_patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = []
        for pattern in self.prompt_attacks:
            try:
                compiled.append(re.compile(pattern, re.IGNORECASE))
            except re.error as error:
                message = f"prompt attack pattern {pattern!r} is not a valid regular expression: {error}"
                raise ValueError(message) from error
        object.__setattr__(self, "_attack_patterns", tuple(compiled))  # frozen: compiled once, here

    @property
    def filters_configured(self) -> bool:
        """Whether the content policy runs at all (content filters or prompt attacks)."""
        return any(terms for terms in self.content_filters.values()) or bool(self.prompt_attacks)

    def is_prompt_attack(self, text: str) -> bool:
        """Whether any prompt attack pattern matches ``text`` (case-insensitive, anywhere)."""
        return any(pattern.search(text) for pattern in self._attack_patterns)


@dataclass
class _Findings:
    pii: list[dict[str, Any]] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    filters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return bool(self.words or self.filters)


def _phone_matches(text: str) -> Iterable[re.Match[str]]:
    return (m for m in PHONE.finditer(text) if sum(c.isdigit() for c in m.group()) >= _PHONE_MIN_DIGITS)


def _anonymise(text: str, findings: _Findings) -> str:
    def replace(kind: str) -> Any:
        def substitute(match: re.Match[str]) -> str:
            findings.pii.append({"match": match.group(), "type": kind, "action": "ANONYMIZED", "detected": True})
            return "{" + kind + "}"

        return substitute

    text = EMAIL.sub(replace("EMAIL"), text)
    spans = [(m.start(), m.end(), m.group()) for m in _phone_matches(text)]
    for start, end, matched in reversed(spans):
        findings.pii.append({"match": matched, "type": "PHONE", "action": "ANONYMIZED", "detected": True})
        text = text[:start] + "{PHONE}" + text[end:]
    return text


def _contains_term(text: str, term: str) -> bool:
    """A whole-word, case-insensitive match: ``bananas`` is not in ``bananasplit``."""
    return bool(term) and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE) is not None


def _blocked_words(text: str, words: Sequence[str]) -> list[str]:
    return [w for w in words if _contains_term(text, w)]


def _filter_entry(kind: str, strength: FilterStrength) -> dict[str, Any]:
    return {"type": kind, "confidence": "HIGH", "filterStrength": strength, "action": "BLOCKED", "detected": True}


def _content_filters(text: str, source: str, policy: GuardrailPolicy) -> list[str]:
    """The filter types ``text`` trips: each category with a listed term, then PROMPT_ATTACK (input only)."""
    kinds: list[str] = [
        category
        for category in CONTENT_CATEGORIES
        if any(_contains_term(text, term) for term in policy.content_filters.get(category, ()))
    ]
    if source == "INPUT" and policy.is_prompt_attack(text):
        kinds.append("PROMPT_ATTACK")
    return kinds


def _units(texts: Sequence[str]) -> int:
    return sum(-(-len(text) // _TEXT_UNIT_CHARACTERS) for text in texts)


def apply_guardrail(body: Mapping[str, Any], policy: GuardrailPolicy) -> dict[str, Any]:
    """The ApplyGuardrail response for a request body (``source`` + ``content[].text.text``)."""
    source = str(body.get("source", "INPUT"))
    texts = [
        str(block.get("text", {}).get("text", ""))
        for block in body.get("content", [])
        if isinstance(block, Mapping) and isinstance(block.get("text"), Mapping)
    ]
    findings = _Findings()
    seen_filters: set[str] = set()
    for text in texts:
        findings.words.extend(
            {"match": w, "action": "BLOCKED", "detected": True} for w in _blocked_words(text, policy.blocked_words)
        )
        for kind in _content_filters(text, source, policy):
            if kind not in seen_filters:  # one entry per filter type, as Bedrock reports them
                seen_filters.add(kind)
                findings.filters.append(_filter_entry(kind, policy.filter_strength))
    masked = [_anonymise(t, findings) if policy.anonymise else t for t in texts]
    outputs = [{"text": policy.blocked_message}] if findings.blocked else [{"text": t} for t in masked]
    assessment: dict[str, Any] = {}
    if findings.filters:
        assessment["contentPolicy"] = {"filters": findings.filters}
    if findings.words:
        assessment["wordPolicy"] = {"customWords": findings.words, "managedWordLists": []}
    if findings.pii:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": findings.pii, "regexes": []}
    intervened = bool(findings.pii or findings.blocked)
    units = _units(texts)
    characters = sum(len(t) for t in texts)
    return {
        "usage": {
            "topicPolicyUnits": 0,
            "contentPolicyUnits": units if policy.filters_configured else 0,
            "wordPolicyUnits": units if policy.blocked_words else 0,
            "sensitiveInformationPolicyUnits": units if policy.anonymise else 0,
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
        },
        "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
        "actionReason": "Guardrail blocked." if findings.blocked else ("Guardrail masked." if intervened else ""),
        "outputs": outputs if intervened else [],
        "assessments": [assessment] if intervened else [],
        "guardrailCoverage": {"textCharacters": {"guarded": characters, "total": characters}},
    }
