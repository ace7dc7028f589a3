"""The Dagger container graphs of the stages, as pure builders (no engine call happens here).

Each stage runs the nox session of the same name (``./dev nox -s <stage>``) in the pinned Python
image, so CI and a laptop run one definition. Builders only chain lazy Dagger calls; the module's
functions (``main.py``) await them. That split lets the tests inspect every graph without an engine,
and the harness (``harness.py``) runs each function's command with exactly the same inputs in podman.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

import dagger
from dagger import dag

from bedrockgate_pipeline import deploy as deploy_commands
from bedrockgate_pipeline.images import Images
from bedrockgate_pipeline.stages import Stage

WORKDIR = "/src"
UV_CACHE = "/root/.cache/uv"
NPM_CACHE = "/root/.npm"
LITELLM_PORT = 4000
APT_INSTALL = "apt-get update -qq && apt-get install -y -qq --no-install-recommends"
RUNNER_PACKAGES = ("git", "redis-server", "libgomp1")
"""Debian packages every stage needs beyond Python: git (sources, tags), a real Redis, and libgomp1 (OpenMP,
which the embedded model's runtime, xllamacpp, links against: the harness found it missing)."""
ALWAYS = ("dev", "noxfile.py", "scripts", "pipelines")  # what runs a stage: the entry point and the sessions
OUTPUTS = "dist/deploy-outputs.json"
"""Where ``cdk deploy`` writes the stacks' outputs, relative to the repository root."""
LAMBDA_ZIP = "dist/lambda/lex-fulfillment.zip"
"""Where ``lambda_zip`` writes the Lambda's zip and infra's chatbot stack reads it."""
IMAGE_ARCHIVE = "dist/gateway-image/amd64/image.tar"
"""Where ``evaluate`` receives the archive of the amd64 gateway image it measures."""
NESTED_STORAGE = "pipelines/image/nested-storage.conf"
"""Podman's storage settings for podman inside a stage's container (vfs)."""
SOURCE = "dist/source.json"
GATEWAY_KEY = "GATEWAY_API_KEY"
"""The variable ``verify`` reads the deployed gateway's key from (a Dagger secret)."""
"""Where the ``source`` session writes the commit it checked, relative to the repository root."""


def stage_inputs(stage: Stage) -> list[str]:
    """Exactly the repository paths a stage's function copies into its container (the harness copies the same)."""
    return list(dict.fromkeys([*stage.inputs, *ALWAYS]))


def stage_command(stage: Stage, *posargs: str) -> list[str]:
    """The command a stage's function runs in its container, from the repository's root."""
    return session_command(stage.name, *posargs)


def session_command(session: str, *posargs: str) -> list[str]:
    """``./dev nox -s SESSION [-- POSARGS]``."""
    return ["./dev", "nox", "-s", session, *(["--", *posargs] if posargs else [])]


def runner(source: dagger.Directory, images: Images, include: Sequence[str]) -> dagger.Container:
    """The pinned Python image with git and Redis, the uv and npm caches, and only ``include`` of the source."""
    return (
        dag.container()
        .from_(images.python.reference)
        .with_exec(["sh", "-c", f"{APT_INSTALL} {' '.join(RUNNER_PACKAGES)}"])
        .with_mounted_cache(UV_CACHE, dag.cache_volume("bedrockgate-uv"))
        .with_env_variable("UV_CACHE_DIR", UV_CACHE)
        .with_mounted_cache(NPM_CACHE, dag.cache_volume("bedrockgate-npm"))
        .with_directory(WORKDIR, source, include=list(include))
        .with_workdir(WORKDIR)
    )


def nox_stage(source: dagger.Directory, stage: Stage, images: Images, *posargs: str) -> dagger.Container:
    """The stage's nox session; only the stage's inputs are copied (cache-friendly)."""
    return runner(source, images, stage_inputs(stage)).with_exec(stage_command(stage, *posargs))


def evaluate_stage(
    source: dagger.Directory, stage: Stage, images: Images, image_archive: dagger.File
) -> dagger.Container:
    """The eval gate on the gateway image built in the same run, loaded from its archive into a nested podman.

    The stage starts the local stack with the proxy in that image
    (``bedrockgate-local-stack up --gateway image=...``), so its exec needs root's capabilities in the
    container; images inside are stored with vfs (``NESTED_STORAGE``: overlay on the container's overlay
    root does not mount).
    """
    loaded = runner(source, images, stage_inputs(stage)).with_file(f"{WORKDIR}/{IMAGE_ARCHIVE}", image_archive)
    return _with_nested_podman(loaded, stage_command(stage, "--image-archive", IMAGE_ARCHIVE))


def _with_nested_podman(container: dagger.Container, command: list[str]) -> dagger.Container:
    """Run ``command`` where it can run podman itself: root's capabilities, images stored with vfs."""
    return container.with_env_variable("CONTAINERS_STORAGE_CONF", f"{WORKDIR}/{NESTED_STORAGE}").with_exec(
        command, insecure_root_capabilities=True
    )


def verify_stage(
    source: dagger.Directory,
    stage: Stage,
    images: Images,
    *,
    endpoint: str,
    api_key: dagger.Secret,
    config: str,
    lex: str | None,
    run_id: str,
) -> dagger.Container:
    """``nox -s verify`` against a deployed endpoint; the gateway key only as a secret, never cached."""
    posargs = ["--endpoint", endpoint, "--api-key-env", GATEWAY_KEY, "--config", config]
    posargs += ["--lex", lex] if lex else []
    return (
        runner(source, images, stage_inputs(stage))
        .with_secret_variable(GATEWAY_KEY, api_key)
        .with_env_variable("BEDROCKGATE_VERIFY_RUN", run_id)
        .with_exec(stage_command(stage, *posargs))
    )


def rehearse_stage(source: dagger.Directory, stage: Stage, images: Images, *, run_id: str) -> dagger.Container:
    """``nox -s rehearse``: the whole committed source with ``.git`` (the deploy's dirty-tree rule reads it).

    It builds the image and runs the local stack with it (podman in the container: root's
    capabilities, vfs storage), and starts the emulator on the container's loopback.
    """
    whole = runner(source, images, [".git", "*"]).with_env_variable("BEDROCKGATE_REHEARSAL_RUN", run_id)
    return _with_nested_podman(whole, stage_command(stage))


def tests_stage(source: dagger.Directory, stage: Stage, images: Images, package: str) -> dagger.Container:
    """One package's tests (``nox -s "tests(package='X')"``), and nothing else."""
    return runner(source, images, stage_inputs(stage)).with_exec(session_command(f"tests(package='{package}')"))


def gateway_image(context: dagger.Directory, architecture: str, build_args: dict[str, str]) -> dagger.Container:
    """The gateway image for ``linux/<architecture>``, built from the one recipe (``pipelines/image/Containerfile``).

    ``context`` is what ``python -m bedrockgate_pipeline.image context`` lays out under
    ``dist/gateway-image/<arch>/context`` (the Debian base tarball, the lock's wheels with one hash each,
    the rendered config, the entrypoint); ``build_args`` is the ``build-args.json`` beside it. Nothing
    is pulled: the Containerfile starts ``FROM scratch``.
    """
    return context.docker_build(
        dockerfile="Containerfile",
        platform=dagger.Platform(f"linux/{architecture}"),
        build_args=[dagger.BuildArg(name=key, value=value) for key, value in sorted(build_args.items())],
    )


def smoke_test(image: dagger.Container, images: Images) -> dagger.Container:
    """A client that fails unless the image's proxy starts and answers infra's health route.

    The baked config reads Redis and the Region from the environment; the smoke test gives it
    loopback values (the router starts without reaching Redis) and no ``DATABASE_URL``.
    """
    proxy = (
        image.with_env_variable("LITELLM_MASTER_KEY", "sk-smoke-test")
        .with_env_variable("AWS_REGION", "us-east-1")
        .with_env_variable("REDIS_HOST", "127.0.0.1")
        .with_env_variable("REDIS_PORT", "6379")
        .with_env_variable("REDIS_PASSWORD", "smoke-test")
        .with_exposed_port(LITELLM_PORT)
        .as_service(use_entrypoint=True)
    )
    probe = (
        "import time, urllib.request\n"
        "for _ in range(120):\n"
        "    try:\n"
        f"        urllib.request.urlopen('http://gateway:{LITELLM_PORT}/health/liveliness', timeout=2); break\n"
        "    except OSError: time.sleep(1)\n"
        "else: raise SystemExit('the gateway image never answered /health/liveliness')\n"
    )
    return (
        dag.container()
        .from_(images.python.reference)
        .with_service_binding("gateway", proxy)
        .with_exec(["python", "-c", probe])
    )


def registry_address(repository: str) -> str:
    """The registry host of ``REGISTRY/REPOSITORY`` (what registry credentials are attached to)."""
    return repository.split("/", 1)[0]


def publishing(repository: str, username: str, password: dagger.Secret) -> dagger.Container:
    """An empty container carrying the registry's credentials (a secret) for ``publish``."""
    return dag.container().with_registry_auth(registry_address(repository), username, password)


def source_check(source: dagger.Directory, images: Images) -> dagger.Container:
    """The one dirty-tree rule (``gates.require_clean``) on the whole source with its ``.git``: writes the commit.

    The whole tree, not a stage's inputs: a partial copy would show every file left out as deleted.
    """
    return runner(source, images, [".git", "*"]).with_exec(session_command("source"))


def aws(
    container: dagger.Container,
    *,
    aws_access_key_id: dagger.Secret,
    aws_secret_access_key: dagger.Secret,
    aws_session_token: dagger.Secret | None,
    region: str | None,
) -> dagger.Container:
    """AWS credentials only as secrets, never as plain variables or arguments."""
    container = container.with_secret_variable("AWS_ACCESS_KEY_ID", aws_access_key_id).with_secret_variable(
        "AWS_SECRET_ACCESS_KEY", aws_secret_access_key
    )
    if aws_session_token is not None:
        container = container.with_secret_variable("AWS_SESSION_TOKEN", aws_session_token)
    if region:
        container = container.with_env_variable("AWS_REGION", region).with_env_variable("AWS_DEFAULT_REGION", region)
    return container


def deploy_container(
    source: dagger.Directory,
    images: Images,
    credentials: Mapping[str, dagger.Secret | None],
    *,
    region: str | None,
    settings: str,
    context: Mapping[str, str],
    lambda_zip: dagger.File,
    run_id: str,
    allow_replace: Sequence[str] = (),
) -> dagger.Container:
    """Preflight (bootstrap version, account and region), synth, the replacement guard, ``cdk deploy --all``.

    The guard refuses to replace or delete a stateful resource unless ``allow_replace`` names it.

    ``context`` carries the published image's digest, the commit, and account and region when given.
    ``run_id`` changes every call: the function is ``cache="never"``, but its execs would still be
    served from Dagger's cache for the same inputs; the variable before them makes every deploy run.
    """
    container = _aws_runner(
        runner(source, images, deploy_inputs()).with_file(f"{WORKDIR}/{LAMBDA_ZIP}", lambda_zip),
        credentials, region=region, run_id=run_id,
    )  # fmt: skip
    container = container.with_exec(deploy_commands.infra("preflight", settings=settings, context=context))
    for command in deploy_commands.guarded_deploy(
        settings=settings, context=context, outputs=f"../../{OUTPUTS}", allow_replace=allow_replace
    ):
        container = container.with_exec(command)
    return container


def bootstrap_container(
    source: dagger.Directory,
    images: Images,
    credentials: Mapping[str, dagger.Secret | None],
    *,
    region: str | None,
    settings: str,
    context: Mapping[str, str],
    run_id: str,
) -> dagger.Container:
    """``cdk bootstrap`` of every environment ``bedrockgate-infra environments`` lists, then the registry stack."""
    listing = " ".join(
        shlex.quote(a) for a in deploy_commands.infra("environments", settings=settings, context=context)
    )
    bootstrap = " ".join(shlex.quote(a) for a in deploy_commands.cdk(["bootstrap"], settings=settings, context=context))
    return (
        _aws_runner(runner(source, images, deploy_inputs()), credentials, region=region, run_id=run_id)
        # The listing first, on its own: inside `for x in $(...)` a failing listing would be swallowed by sh -e.
        .with_exec(["sh", "-euc", f'environments="$({listing})"; for e in $environments; do {bootstrap} "$e"; done'])
        .with_exec(deploy_commands.registry(settings=settings, context=context))
    )


def _aws_runner(
    container: dagger.Container, credentials: Mapping[str, dagger.Secret | None], *, region: str | None, run_id: str
) -> dagger.Container:
    """A runner holding the AWS secrets, with the run id that keeps Dagger from serving its execs from cache."""
    return aws(
        container,
        aws_access_key_id=_required(credentials, "aws_access_key_id"),
        aws_secret_access_key=_required(credentials, "aws_secret_access_key"),
        aws_session_token=credentials.get("aws_session_token"),
        region=region,
    ).with_env_variable("BEDROCKGATE_DEPLOY_RUN", run_id)


def deploy_inputs() -> list[str]:
    """What a deploy reads: the workspace (infra, the gateway config, the Lambda's code) and the entry point."""
    return ["pyproject.toml", "uv.lock", "packages", "examples", "dev", "scripts"]


def _required(credentials: Mapping[str, dagger.Secret | None], name: str) -> dagger.Secret:
    secret = credentials.get(name)
    if secret is None:
        raise KeyError(f"the deploy needs the {name} secret")
    return secret
