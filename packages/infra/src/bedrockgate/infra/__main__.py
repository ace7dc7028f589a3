"""The CDK app entry point: ``python -m bedrockgate.infra``.

``bedrockgate-infra cdk ...`` runs it with its own interpreter (``--app '<python> -m bedrockgate.infra'``);
``cdk.json`` names it for a bare ``cdk`` run from an activated environment. The settings file comes
from the ``settings`` context value (``cdk synth -c settings=settings/prod.yaml``; default
``settings/dev.yaml``); any top-level settings field given as context overrides the file
(``-c gateway_image=...@sha256:...``, ``-c account=123456789012``), and ``-c synth_only=true``
synthesizes without asking AWS (:mod:`bedrockgate.infra.target`).
"""

from __future__ import annotations

from bedrockgate.infra.cli import app_main

if __name__ == "__main__":
    app_main()
