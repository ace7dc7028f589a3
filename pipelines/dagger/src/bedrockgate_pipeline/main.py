"""The Dagger module: ``dagger call <stage>`` runs the same stages as ``nox -s <stage>``.

Functions are generated from ``stages.STAGES`` in spirit and checked against it by a test: one
function per stage (kebab-case) plus ``ci``. Each awaits a graph built in ``containers.py``.
"""

from __future__ import annotations

import json
from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, function, object_type

from bedrockgate_pipeline import containers
from bedrockgate_pipeline.images import IMAGES
from bedrockgate_pipeline.stages import ci_stages, stage

PACKAGES = ("gateway-config", "metrics-callback", "lex-fulfillment", "infra", "evals", "local-stack")
Source = Annotated[
    dagger.Directory,
    DefaultPath("/"),
    Ignore([".venv", ".nox", ".tools", "dist", "**/cdk.out", ".local-stack", ".pipeline", "**/__pycache__"]),
    Doc("the repository (default: the module's own checkout)"),
]


@object_type
class Bedrockgate:
    """bedrockgate's pipeline: lint → typecheck → tests → build → package → synth → evaluate → deploy."""

    @function
    async def lint(self, source: Source) -> str:
        """Ruff's rules and formatting."""
        IMAGES.require_pinned()
        return await containers.nox_stage(source, stage("lint"), IMAGES).stdout()

    @function
    async def typecheck(self, source: Source) -> str:
        """Mypy --strict over every package."""
        IMAGES.require_pinned()
        return await containers.nox_stage(source, stage("typecheck"), IMAGES).stdout()

    @function
    async def tests(self, source: Source, package: Annotated[str, Doc("a folder under packages/")]) -> str:
        """One package's tests, with only its declared dependencies."""
        return await _tests(source, package)

    @function
    async def build(self, source: Source) -> dagger.Directory:
        """Wheels, sdists and their SBOM and audit report (``dist/``)."""
        IMAGES.require_pinned()
        return containers.nox_stage(source, stage("build"), IMAGES).directory(f"{containers.WORKDIR}/dist")

    @function
    async def gateway_image(
        self,
        source: Source,
        architecture: Annotated[str, Doc("amd64, or arm64 (what the ECS task runs)")] = "arm64",
    ) -> dagger.Container:
        """The gateway image from the one recipe (Debian base, the lock's wheels); the amd64 one is smoke-tested."""
        IMAGES.require_pinned()
        laid_out = containers.nox_stage(source, stage("gateway_image"), IMAGES, "context", architecture).directory(
            f"{containers.WORKDIR}/dist/gateway-image/{architecture}"
        )
        build_args = json.loads(await laid_out.file("build-args.json").contents())
        image = containers.gateway_image(laid_out.directory("context"), architecture, build_args)
        if architecture == "amd64":
            await containers.smoke_test(image, IMAGES).sync()
        return image

    @function
    async def lambda_zip(self, source: Source) -> dagger.File:
        """The Lex fulfillment Lambda's zip."""
        IMAGES.require_pinned()
        built = containers.nox_stage(source, stage("lambda_zip"), IMAGES)
        return built.file(f"{containers.WORKDIR}/dist/lambda/lex-fulfillment.zip")

    @function
    async def synth(self, source: Source) -> dagger.Directory:
        """CloudFormation templates of every stack, cdk-nag and cfn-lint clean."""
        IMAGES.require_pinned()
        return containers.nox_stage(source, stage("synth"), IMAGES).directory(
            f"{containers.WORKDIR}/packages/infra/cdk.out"
        )

    @function
    async def evaluate(self, source: Source) -> dagger.Directory:
        """The eval report of the local stack, gated (the function fails when the gate fails)."""
        IMAGES.require_pinned()
        return containers.nox_stage(source, stage("evaluate"), IMAGES).directory(f"{containers.WORKDIR}/dist/evaluate")

    @function
    async def ci(self, source: Source) -> str:
        """Every stage up to synth, in order; the first failure stops it."""
        return await _ci(source)

    # dagger-io 0.21.11's overloads of `function` omit `cache=` (it is accepted at run time).
    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def deploy(  # noqa: PLR0917 -- Dagger maps parameters to `dagger call` flags; no keyword-only form
        self,
        source: Source,
        aws_access_key_id: Annotated[dagger.Secret, Doc("AWS access key id")],
        aws_secret_access_key: Annotated[dagger.Secret, Doc("AWS secret access key")],
        gateway_image: Annotated[str, Doc("the pushed gateway image, REGISTRY/REPO@sha256:...")],
        settings: Annotated[str, Doc("deployment settings file under packages/infra")] = "settings/dev.yaml",
        region: Annotated[str, Doc("AWS region")] = "us-east-1",
        aws_session_token: Annotated[dagger.Secret | None, Doc("session token, for temporary credentials")] = None,
    ) -> str:
        """Cdk deploy, refused unless ci and evaluate pass for this very source; never cached."""
        IMAGES.require_pinned()
        await _ci(source)  # cached by Dagger when this source already passed
        await _evaluate(source)
        deployer = containers.deploy_container(
            source, IMAGES, aws_access_key_id=aws_access_key_id, aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token, region=region, settings=settings, gateway_image=gateway_image,
        )  # fmt: skip
        outputs = json.loads(await deployer.file(containers.OUTPUTS).contents())
        return json.dumps(outputs, indent=2)


async def _tests(source: dagger.Directory, package: str) -> str:
    IMAGES.require_pinned()
    return await containers.tests_stage(source, stage("tests"), IMAGES, package).stdout()


async def _evaluate(source: dagger.Directory) -> dagger.Directory:
    IMAGES.require_pinned()
    report = containers.nox_stage(source, stage("evaluate"), IMAGES).directory(f"{containers.WORKDIR}/dist/evaluate")
    await report.sync()
    return report


async def _ci(source: dagger.Directory) -> str:
    IMAGES.require_pinned()
    lines = []
    for step in ci_stages():
        if step.name == "tests":
            for package in PACKAGES:
                await _tests(source, package)
        else:
            await containers.nox_stage(source, step, IMAGES).sync()
        lines.append(f"{step.name}: passed")
    return "\n".join(lines)
