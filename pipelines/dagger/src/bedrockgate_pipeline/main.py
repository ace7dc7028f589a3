"""The Dagger module: ``dagger call <stage>`` runs the same stages as ``nox -s <stage>``.

One function per stage (kebab-case) plus ``ci``; a test checks them against ``stages.STAGES`` and
checks that ``ci`` runs exactly the ``in_ci`` stages, as ``./dev test`` and ``nox -s ci`` do. Each
awaits a graph built in ``containers.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, function, object_type

from bedrockgate_pipeline import containers
from bedrockgate_pipeline.deploy import deploy_context, published_image
from bedrockgate_pipeline.errors import GateError
from bedrockgate_pipeline.gates import profile
from bedrockgate_pipeline.images import IMAGES
from bedrockgate_pipeline.stages import ci_stages, stage

PACKAGES = ("gateway-config", "metrics-callback", "lex-fulfillment", "infra", "evals", "local-stack")
ARCHITECTURES = ("arm64", "amd64")
"""The gateway image's platforms: arm64 is what the ECS task runs; amd64 is its smoke-tested twin."""
Source = Annotated[
    dagger.Directory,
    DefaultPath("/"),
    Ignore([".venv", ".nox", ".tools", "dist", "**/cdk.out", ".local-stack", ".pipeline", "**/__pycache__"]),
    Doc("the repository (default: the module's own checkout)"),
]
Secret = dagger.Secret


@object_type
class Bedrockgate:
    """bedrockgate's pipeline: lint → typecheck → tests → build → image → synth → evaluate → deploy."""

    @function
    async def lint(self, source: Source) -> str:
        """Ruff's rules and formatting."""
        return await _stage(source, "lint")

    @function
    async def typecheck(self, source: Source) -> str:
        """Mypy --strict over every package."""
        return await _stage(source, "typecheck")

    @function
    async def tests(self, source: Source, package: Annotated[str, Doc("a folder under packages/")]) -> str:
        """One package's tests, with only its declared dependencies."""
        return await _tests(source, package)

    @function
    async def pipeline(self, source: Source) -> str:
        """The pipeline's own tests (stages, graphs, gates, image recipe, workflows)."""
        return await _stage(source, "pipeline")

    @function
    async def build(self, source: Source) -> dagger.Directory:
        """Wheels and sdists of every package (``dist/``)."""
        IMAGES.require_pinned()
        return containers.nox_stage(source, stage("build"), IMAGES).directory(f"{containers.WORKDIR}/dist")

    @function
    async def supply_chain(self, source: Source) -> dagger.Directory:
        """The SBOM and the strict audit's report and verdict (``dist/sbom``)."""
        return await _supply_chain(source)

    @function
    async def gateway_image(
        self,
        source: Source,
        registry: Annotated[str, Doc("the repository to push to, REGISTRY/REPOSITORY (the registry stack's URI)")],
        registry_password: Annotated[Secret, Doc("e.g. cmd:'aws ecr get-login-password'")],
        registry_username: Annotated[str, Doc("the registry user (AWS for ECR)")] = "AWS",
    ) -> str:
        """Build arm64 and amd64 from the one recipe, smoke-test amd64, push both as one list: the pushed digest."""
        return await _publish(source, registry, registry_username, registry_password)

    @function
    async def lambda_zip(self, source: Source) -> dagger.File:
        """The Lex fulfillment Lambda's zip."""
        return _lambda_zip(source)

    @function
    async def synth(self, source: Source) -> dagger.Directory:
        """CloudFormation templates of every stack, cdk-nag and cfn-lint clean."""
        return _synth(source).directory(f"{containers.WORKDIR}/packages/infra/cdk.out")

    @function
    async def evaluate(self, source: Source) -> dagger.Directory:
        """The eval report of the local stack, gated (the function fails when the gate fails)."""
        return await _evaluate(source)

    @function
    async def ci(self, source: Source) -> str:
        """Every ``in_ci`` stage in order (what ``./dev test`` and ``nox -s ci`` run); the first failure stops it."""
        return await _ci(source)

    # dagger-io 0.21.11's overloads of `function` omit `cache=` (it is accepted at run time).
    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def bootstrap(  # noqa: PLR0917 -- Dagger maps parameters to `dagger call` flags
        self,
        source: Source,
        aws_access_key_id: Annotated[Secret, Doc("AWS access key id (from OIDC in the hosted workflow)")],
        aws_secret_access_key: Annotated[Secret, Doc("AWS secret access key")],
        settings: Annotated[str, Doc("deployment settings file under packages/infra")] = "settings/dev.yaml",
        account: Annotated[str | None, Doc("AWS account; default: the credentials' (STS)")] = None,
        region: Annotated[str | None, Doc("AWS region; default: the settings'")] = None,
        aws_session_token: Annotated[Secret | None, Doc("session token, for temporary credentials")] = None,
    ) -> str:
        """``cdk bootstrap`` of every environment the app uses; never cached."""
        credentials = _credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
        context = {key: value for key, value in (("account", account), ("region", region)) if value}
        IMAGES.require_pinned()
        return await containers.bootstrap_container(
            source, IMAGES, credentials, region=region, settings=settings, context=context, run_id=_run_id()
        ).stdout()

    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def deploy(  # noqa: PLR0917 -- Dagger maps parameters to `dagger call` flags
        self,
        source: Source,
        aws_access_key_id: Annotated[Secret, Doc("AWS access key id (from OIDC in the hosted workflow)")],
        aws_secret_access_key: Annotated[Secret, Doc("AWS secret access key")],
        registry: Annotated[str, Doc("the gateway image's repository, REGISTRY/REPOSITORY (the registry stack's)")],
        registry_password: Annotated[Secret, Doc("e.g. cmd:'aws ecr get-login-password'")],
        registry_username: Annotated[str, Doc("the registry user (AWS for ECR)")] = "AWS",
        settings: Annotated[str, Doc("deployment settings file under packages/infra")] = "settings/dev.yaml",
        account: Annotated[str | None, Doc("AWS account; default: the credentials' (STS)")] = None,
        region: Annotated[str | None, Doc("AWS region; default: the settings'")] = None,
        aws_session_token: Annotated[Secret | None, Doc("session token, for temporary credentials")] = None,
        gate_profile: Annotated[str, Doc("production (every gate), or rehearsal (skips are recorded)")] = "production",
        phoenix_image: Annotated[str | None, Doc("Phoenix by digest, when the settings do not pin it")] = None,
        allow_replace: Annotated[
            list[str] | None, Doc("a stateful resource's logical id (or STACK/ID) the deploy may replace or delete")
        ] = None,
    ) -> str:
        """Cdk deploy of the image published in this run, refused unless the source is a commit and its gates pass."""
        chosen = profile(gate_profile)
        commit = await _source_commit(source)  # the same dirty-tree rule as nox
        await _ci(source)  # cached by Dagger when this source already passed
        await _evaluate(source)
        verdict = json.loads(await (await _supply_chain(source)).file("audit-verdict.json").contents())
        if verdict["status"] != "passed" and "audit" in chosen.required:
            raise GateError(f"deploy refused ({chosen.name} gates): {verdict['detail']}")
        image = await _publish(source, registry, registry_username, registry_password)
        context = deploy_context(gateway_image=image, source_commit=commit, account=account, region=region)
        if phoenix_image:
            context["phoenix_image"] = published_image(phoenix_image)
        credentials = _credentials(aws_access_key_id, aws_secret_access_key, aws_session_token)
        IMAGES.require_pinned()
        deployed = containers.deploy_container(
            source, IMAGES, credentials, region=region, settings=settings, context=context,
            lambda_zip=_lambda_zip(source), run_id=_run_id(), allow_replace=allow_replace or (),
        )  # fmt: skip
        stacks = json.loads(await deployed.file(f"{containers.WORKDIR}/{containers.OUTPUTS}").contents())
        gates = {"profile": chosen.name, "passed": list(chosen.required), "skipped": dict(chosen.skipped),
                 "audit": verdict["status"]}  # fmt: skip
        return json.dumps({"gates": gates, "gateway_image": image, "source_commit": commit, "stacks": stacks}, indent=2)

    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def verify(
        self,
        source: Source,
        endpoint: Annotated[str, Doc("the deployed gateway's base URL (the edge's or the ALB's)")],
        api_key: Annotated[Secret, Doc("a key the gateway accepts")],
        config: Annotated[str, Doc("the gateway config that was deployed")] = "examples/agents-gateway.yaml",
        lex: Annotated[str | None, Doc("BOT_ID/ALIAS_ID of the chatbot, when enabled")] = None,
    ) -> str:
        """Health, one chat per model group, the guardrail and Lex against the deployed endpoint; never cached."""
        IMAGES.require_pinned()
        return await containers.verify_stage(
            source, stage("verify"), IMAGES, endpoint=endpoint, api_key=api_key, config=config, lex=lex,
            run_id=_run_id(),
        ).stdout()  # fmt: skip

    @function(cache="never")  # type: ignore[call-overload, untyped-decorator]
    async def rehearse(self, source: Source) -> dagger.Directory:
        """The deploy rehearsal against moto on loopback (``nox -s rehearse``): its report; never cached."""
        IMAGES.require_pinned()
        report = containers.rehearse_stage(source, stage("rehearse"), IMAGES, run_id=_run_id()).directory(
            f"{containers.WORKDIR}/dist/rehearsal"
        )
        await report.sync()
        return report


def _run_id() -> str:
    return str(time.time_ns())


def _credentials(key_id: Secret, key: Secret, token: Secret | None) -> dict[str, Secret | None]:
    return {"aws_access_key_id": key_id, "aws_secret_access_key": key, "aws_session_token": token}


async def _stage(source: dagger.Directory, name: str) -> str:
    IMAGES.require_pinned()
    return await containers.nox_stage(source, stage(name), IMAGES).stdout()


async def _tests(source: dagger.Directory, package: str) -> str:
    IMAGES.require_pinned()
    return await containers.tests_stage(source, stage("tests"), IMAGES, package).stdout()


async def _all_tests(source: dagger.Directory) -> str:
    return "\n".join([await _tests(source, package) for package in PACKAGES])


async def _report(source: dagger.Directory, name: str, folder: str) -> dagger.Directory:
    """A stage's output folder, once the stage has passed."""
    IMAGES.require_pinned()
    report = containers.nox_stage(source, stage(name), IMAGES).directory(f"{containers.WORKDIR}/{folder}")
    await report.sync()
    return report


async def _supply_chain(source: dagger.Directory) -> dagger.Directory:
    return await _report(source, "supply_chain", "dist/sbom")


async def _supply_chain_stdout(source: dagger.Directory) -> str:
    return json.loads(await (await _supply_chain(source)).file("audit-verdict.json").contents())["detail"]  # type: ignore[no-any-return]


def _image_variant(source: dagger.Directory, architecture: str) -> tuple[dagger.Directory, dagger.File]:
    laid_out = containers.nox_stage(source, stage("gateway_image"), IMAGES, "context", architecture).directory(
        f"{containers.WORKDIR}/dist/gateway-image/{architecture}"
    )
    return laid_out.directory("context"), laid_out.file("build-args.json")


async def _image(source: dagger.Directory, architecture: str) -> dagger.Container:
    IMAGES.require_pinned()
    context, build_args = _image_variant(source, architecture)
    return containers.gateway_image(context, architecture, json.loads(await build_args.contents()))


async def _smoke_tested_amd64(source: dagger.Directory) -> str:
    """What ``ci`` runs of the image (as ``./dev test`` does): amd64 built from the recipe and smoke-tested."""
    image = await _image(source, "amd64")
    return await containers.smoke_test(image, IMAGES).stdout()


async def _publish(source: dagger.Directory, registry: str, username: str, password: Secret) -> str:
    variants = [await _image(source, architecture) for architecture in ARCHITECTURES]
    await containers.smoke_test(variants[ARCHITECTURES.index("amd64")], IMAGES).sync()
    tag = (await source.digest()).removeprefix("sha256:")[:12]  # immutable tags: one per source
    pushed = await containers.publishing(registry, username, password).publish(
        f"{registry}:{tag}", platform_variants=variants
    )
    return published_image(f"{registry}@{pushed.rsplit('@', 1)[-1]}")


def _lambda_zip(source: dagger.Directory) -> dagger.File:
    IMAGES.require_pinned()
    return containers.nox_stage(source, stage("lambda_zip"), IMAGES).file(
        f"{containers.WORKDIR}/{containers.LAMBDA_ZIP}"
    )


def _synth(source: dagger.Directory) -> dagger.Container:
    IMAGES.require_pinned()
    built = containers.runner(source, IMAGES, containers.stage_inputs(stage("synth")))
    return built.with_file(f"{containers.WORKDIR}/{containers.LAMBDA_ZIP}", _lambda_zip(source)).with_exec(
        containers.stage_command(stage("synth"))
    )


async def _synth_stdout(source: dagger.Directory) -> str:
    return await _synth(source).stdout()


async def _lambda_zip_size(source: dagger.Directory) -> str:
    return f"{await _lambda_zip(source).size()} bytes"


async def _evaluate(source: dagger.Directory) -> dagger.Directory:
    """The gate measures the artefact: the amd64 image built from this source, exported and run by the stage."""
    image = await _image(source, "amd64")
    report = containers.evaluate_stage(source, stage("evaluate"), IMAGES, image.as_tarball()).directory(
        f"{containers.WORKDIR}/dist/evaluate"
    )
    await report.sync()
    return report


async def _source_commit(source: dagger.Directory) -> str:
    IMAGES.require_pinned()
    checked = containers.source_check(source, IMAGES).file(f"{containers.WORKDIR}/{containers.SOURCE}")
    return str(json.loads(await checked.contents())["commit"])


CI_STEPS: dict[str, Callable[[dagger.Directory], Awaitable[str]]] = {
    "lint": lambda source: _stage(source, "lint"),
    "typecheck": lambda source: _stage(source, "typecheck"),
    "tests": _all_tests,
    "pipeline": lambda source: _stage(source, "pipeline"),
    "build": lambda source: _stage(source, "build"),
    "supply_chain": _supply_chain_stdout,
    "gateway_image": _smoke_tested_amd64,
    "lambda_zip": _lambda_zip_size,
    "synth": _synth_stdout,
}
"""What ``dagger call ci`` runs for each ``in_ci`` stage; a test checks the keys against ``stages.ci_stages()``."""


async def _ci(source: dagger.Directory) -> str:
    lines = []
    for step in ci_stages():
        await CI_STEPS[step.name](source)
        lines.append(f"{step.name}: passed")
    return "\n".join(lines)
