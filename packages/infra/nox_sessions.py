"""The infra package's own nox session: ``nox -s synth`` (loaded by the root noxfile).

Synthesizes every stack offline (no AWS credentials, no Docker) into ``packages/infra/cdk.out`` and
prints the synth time, the resources per stack, cdk-nag's findings (0) and every acknowledgment
with its reason, cfn-lint's errors (0), and the dev sizing's monthly cost by service from the
pricing table in the package. Fails on an unacknowledged finding or a cfn-lint error.

It is a synth that deploys nothing (``-c synth_only=true``: no AWS call, the example account and
placeholder digests accepted); posargs add context after it (``-- -c gateway_image=...``). The
chatbot's Lambda zip must exist: ``./dev nox -s lambda_zip`` writes it (the pipeline runs that stage
first).
"""

from __future__ import annotations

from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

PACKAGE = Path(__file__).parent


@nox.session(python="3.11", default=False)
def synth(session: nox.Session) -> None:
    """Synthesize the CDK app offline; print nag, cfn-lint, resources and the cost estimate."""
    sync(session, "--package", "bedrockgate-infra", "--no-default-groups", "--group", "synth")
    session.chdir(PACKAGE)
    session.run(
        "bedrockgate-infra",
        "synth",
        "--settings",
        str(PACKAGE / "settings" / "dev.yaml"),
        "--out",
        str(PACKAGE / "cdk.out"),
        "-c",
        "synth_only=true",
        *session.posargs,
    )
