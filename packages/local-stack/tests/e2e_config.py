"""The end-to-end tests' gateway: the production config exactly as shipped, plus one test group.

The production entries (models, routing, both guardrails, callbacks, the Phoenix project) are not
copied or edited: they are read from ``agents-gateway.yaml``, and only a tightly limited group for
the shared-Redis rpm test is appended. The model ids below are read from that file too, so a change
of model there moves the tests with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from bedrockgate.gateway_config import example_path

LIMITED_RPM = 12
EMBEDDING_ALIAS = "embeddings"
LIMITED_ALIAS = "claude-limited"
INPUT_GUARD = "bedrock-input-guard"
OUTPUT_GUARD = "bedrock-output-guard"


def _production() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(example_path("agents-gateway").read_text(encoding="utf-8"))
    return document


def _model_id(alias: str) -> str:
    [model] = [d["litellm_params"]["model"] for d in _production()["model_list"] if d["model_name"] == alias]
    return str(model).removeprefix("bedrock/")


# The Bedrock model ids the emulator sees for each alias.
PRIMARY_ID = _model_id("claude-primary")
FALLBACK_ID = _model_id("claude-fallback")
FAST_ID = _model_id("claude-fast")
# The same model as claude-fast without the inference profile: its own id, so its requests are its own.
LIMITED_ID = FAST_ID.split(".", 1)[1]

# Scripted answers the echo cannot give: PII the prompt did not hold, for the output guardrail.
ANSWER_EMAIL = "ops.oncall@example.com"
ANSWER_PHONE = "+1 (206) 555-0147"
CONTACT_TRIGGER = "who do I contact"
# An answer holding a content-filter term (VIOLENCE) that the question did not: the output guard's block.
STORY_TRIGGER = "tell me the plot"
SCRIPTED_REPLIES = {
    CONTACT_TRIGGER: f"Write to {ANSWER_EMAIL} or call {ANSWER_PHONE} any time.",
    STORY_TRIGGER: "The villain wants to build a bomb.",
}

EMULATOR_RULES: list[dict[str, Any]] = [
    {"match": "*embed*", "backend": "minilm", "max_input_tokens": 8192},
    # claude-primary is the real embedded model; the others are scripted, so replies name the model.
    {"match": PRIMARY_ID, "backend": "smollm2", "max_input_tokens": 3000},
    {"match": "*", "backend": "scripted"},
]


def write_e2e_config(directory: Path) -> Path:
    """The production config plus the limited group, as a file in ``directory``."""
    document = _production()
    document["model_list"].append(
        {
            "model_name": LIMITED_ALIAS,
            "litellm_params": {
                "model": f"bedrock/{LIMITED_ID}",
                "aws_region_name": "os.environ/AWS_REGION",
                "rpm": LIMITED_RPM,
            },
            "model_info": {"id": "claude-limited-1", "mode": "chat"},
        }
    )
    path = directory / "e2e-gateway.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
