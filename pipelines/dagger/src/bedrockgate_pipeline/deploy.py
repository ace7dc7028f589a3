"""The deploy path both runners take: the same ``bedrockgate-infra cdk`` commands, the published image only.

``nox -s deploy`` runs these commands on the host; the Dagger ``deploy`` function runs them in its
container. Both run from the repository root through ``./dev uv run --directory packages/infra``:
uv changes to the infra package (where ``cdk.json`` and ``settings/`` are) before it runs the CLI,
and the CLI passes the CDK app its own interpreter, so nothing depends on which ``python`` is on PATH.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from bedrockgate_pipeline.errors import PipelineError

INFRA = "packages/infra"
"""Where the CDK app lives, relative to the repository root (``cdk.json``, ``settings/``)."""
_PUBLISHED = re.compile(
    r"^(?P<registry>[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?)/(?P<repository>[a-z0-9._/-]+)@(?P<digest>sha256:[0-9a-f]{64})$"
)
_ZERO = "sha256:" + "0" * 64


class ImageReferenceError(PipelineError):
    """A gateway image reference that a deploy must not take (not pushed, not by digest, a placeholder)."""


def published_image(reference: str) -> str:
    """``reference`` when it names a pushed image by digest (``REGISTRY/REPOSITORY@sha256:<64 hex>``)."""
    found = _PUBLISHED.match(reference)
    if found is None:
        raise ImageReferenceError(
            f"gateway image {reference!r} is not REGISTRY/REPOSITORY@sha256:<64 hex>: deploy takes only the digest "
            "the gateway_image stage pushed (nox -s gateway_image records it; dagger call deploy publishes it)"
        )
    if found["digest"] == _ZERO:
        raise ImageReferenceError(f"gateway image {reference!r} has the all-zero placeholder digest: push the image")
    return reference


_CLI = ["./dev", "uv", "run", "--frozen", "--directory", INFRA, "--package", "bedrockgate-infra", "bedrockgate-infra"]
"""``bedrockgate-infra`` from the repository root, run where its ``cdk.json`` and ``settings/`` are."""


def _context_args(context: Mapping[str, str]) -> list[str]:
    return [arg for key, value in sorted(context.items()) for arg in ("-c", f"{key}={value}")]


def cdk(action: Sequence[str], *, settings: str, context: Mapping[str, str]) -> list[str]:
    """``bedrockgate-infra cdk ACTION`` from the repository root, with the settings file and context values."""
    return [*_CLI, "cdk", *action, "-c", f"settings={settings}", *_context_args(context)]


def infra(command: str, *, settings: str, context: Mapping[str, str]) -> list[str]:
    """``bedrockgate-infra COMMAND`` (environments, preflight) with the deploy's settings and context."""
    return [*_CLI, command, "--settings", settings, *_context_args(context)]


def deploy_context(
    *, gateway_image: str, source_commit: str, account: str | None = None, region: str | None = None
) -> dict[str, str]:
    """The context a deploy passes: the published image, the commit it records, account and region when given."""
    if not re.fullmatch(r"[0-9a-f]{40}", source_commit):
        raise PipelineError(f"source commit {source_commit!r} is not a 40-hex git commit")
    context = {"gateway_image": published_image(gateway_image), "source_commit": source_commit}
    if account:
        context["account"] = account
    if region:
        context["region"] = region
    return context


ASSEMBLY = "cdk.out"
"""The cloud assembly a deploy synthesizes once, the replacement guard reads and ``cdk deploy`` deploys (in infra)."""
_ALLOWED = re.compile(r"^([A-Za-z][A-Za-z0-9-]*/)?[A-Za-z0-9]+$")


def synth(*, settings: str, context: Mapping[str, str]) -> list[str]:
    """``cdk synth`` of every stack into ``ASSEMBLY``: what the guard compares and the deploy then deploys."""
    return cdk(["synth", "--quiet", "--output", ASSEMBLY], settings=settings, context=context)


def guard(*, allow_replace: Sequence[str] = (), deployed: str | None = None) -> list[str]:
    """``bedrockgate-infra guard`` of ``ASSEMBLY`` against the deployed stacks (GetTemplate).

    It refuses a deploy that would replace or delete a stateful resource, unless ``allow_replace``
    names its logical id (``STACK/LOGICAL_ID`` in one stack).
    """
    for name in allow_replace:
        if not _ALLOWED.match(name):
            raise PipelineError(f"--allow-replace {name!r} is neither LOGICAL_ID nor STACK/LOGICAL_ID")
    allowed = [arg for name in allow_replace for arg in ("--allow-replace", name)]
    against = ["--deployed", deployed] if deployed else ["--from-aws"]  # offline: an earlier assembly
    return [*_CLI, "guard", "--synthesized", ASSEMBLY, *against, *allowed]


def deploy(*, settings: str, context: Mapping[str, str], outputs: str) -> list[str]:
    """``cdk deploy --all`` of ``ASSEMBLY`` as synthesized (and guarded), outputs written to ``outputs`` (in infra)."""
    return cdk(["deploy", "--all", "--app", ASSEMBLY, "--require-approval", "never", "--outputs-file", outputs],
               settings=settings, context=context)  # fmt: skip


def guarded_deploy(
    *, settings: str, context: Mapping[str, str], outputs: str, allow_replace: Sequence[str] = ()
) -> list[list[str]]:
    """The deploy, in order: synth once, the replacement guard on that assembly, ``cdk deploy`` of it."""
    return [synth(settings=settings, context=context), guard(allow_replace=allow_replace),
            deploy(settings=settings, context=context, outputs=outputs)]  # fmt: skip


def bootstrap(environment: str, *, settings: str, context: Mapping[str, str]) -> list[str]:
    """``cdk bootstrap aws://ACCOUNT/REGION`` of one environment the app uses."""
    if not re.fullmatch(r"aws://[0-9]{12}/[a-z0-9-]+", environment):
        raise PipelineError(f"{environment!r} is not aws://ACCOUNT/REGION (12-digit account)")
    return cdk(["bootstrap", environment], settings=settings, context=context)


def registry(*, settings: str, context: Mapping[str, str]) -> list[str]:
    """Deploy the registry stack alone (before the first push): with no ``gateway_image`` the app is just that stack."""
    if "gateway_image" in context:
        raise PipelineError("the registry stack deploys before any image exists: drop gateway_image from its context")
    return cdk(["deploy", "--all", "--require-approval", "never"], settings=settings, context=context)


def settings_path(root: Path, settings: str) -> Path:
    """The settings file a deploy reads, resolved where the CDK app runs; a missing one is an error now."""
    path = root / INFRA / settings
    if not path.is_file():
        raise PipelineError(f"deploy settings {settings!r} not found at {path}: name a file under {INFRA}/settings")
    return path
