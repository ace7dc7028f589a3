"""The end-to-end tests' gateway: the agents' example exactly as shipped, plus what it lacks.

The production entries are not copied or edited: they are read from the shipped example, and the
test-only groups are appended (an embedding alias for the evals' similarity, a tightly limited
group for the shared-Redis rpm test, and an opt-in PII-masking guardrail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from bedrockgate.gateway_config import example_path

LIMITED_RPM = 12
GUARDRAIL = "local-pii-mask"
EMBEDDING_ALIAS = "titan-embed"
LIMITED_ALIAS = "claude-limited"
# The Bedrock model ids the emulator sees for each alias (from the shipped example).
PRIMARY_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
FALLBACK_ID = "anthropic.claude-3-sonnet-20240229-v1:0"
LIMITED_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"

EMULATOR_RULES: list[dict[str, Any]] = [
    {"match": "*embed*", "backend": "minilm", "max_input_tokens": 8192},
    # claude-primary is the real embedded model; the others are scripted, so replies name the model.
    {"match": PRIMARY_ID, "backend": "smollm2", "max_input_tokens": 3000},
    {"match": "*", "backend": "scripted"},
]


def write_e2e_config(directory: Path) -> Path:
    """The example plus the test groups, as a file in ``directory``."""
    document = yaml.safe_load(example_path("agents-gateway").read_text(encoding="utf-8"))
    document["model_list"] += [
        {
            "model_name": EMBEDDING_ALIAS,
            "litellm_params": {
                "model": "bedrock/amazon.titan-embed-text-v2:0",
                "aws_region_name": "os.environ/AWS_REGION",
            },
            "model_info": {"id": "titan-embed-1", "mode": "embedding"},
        },
        {
            "model_name": LIMITED_ALIAS,
            "litellm_params": {
                "model": f"bedrock/{LIMITED_ID}",
                "aws_region_name": "os.environ/AWS_REGION",
                "rpm": LIMITED_RPM,
            },
            "model_info": {"id": "claude-limited-1", "mode": "chat"},
        },
    ]
    document["guardrails"] = [
        {
            "guardrail_name": GUARDRAIL,
            "litellm_params": {
                "guardrail": "bedrock",
                "mode": "pre_call",
                "guardrailIdentifier": "os.environ/BEDROCK_GUARDRAIL_ID",
                "guardrailVersion": "os.environ/BEDROCK_GUARDRAIL_VERSION",
                "aws_region_name": "os.environ/AWS_REGION",
                "mask_request_content": True,
                "default_on": False,
            },
        }
    ]
    path = directory / "e2e-gateway.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
