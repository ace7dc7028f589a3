"""The Dagger container graphs of the stages, as pure builders (no engine call happens here).

Each stage runs the nox session of the same name (``./dev nox -s <stage>``) in a pinned Python
image, so CI and a laptop run one definition. Builders only chain lazy Dagger calls; the module's
functions (``main.py``) await them. That split lets the tests inspect every graph without an engine.
"""

from __future__ import annotations

import dagger
from dagger import dag

from bedrockgate_pipeline.images import Images
from bedrockgate_pipeline.stages import Stage

WORKDIR = "/src"
UV_CACHE = "/root/.cache/uv"
LITELLM_PORT = 4000
CDK_CLI = "aws-cdk@2.1148.1"
APT_INSTALL = "apt-get update -qq && apt-get install -y -qq --no-install-recommends"
ALWAYS = ("dev", "noxfile.py", "scripts", "pipelines")  # what runs a stage: the entry point and the sessions
OUTPUTS = "/opt/deploy/outputs.json"


def stage_inputs(stage: Stage) -> list[str]:
    """Exactly the repository paths a stage's function copies into its container (the harness copies the same)."""
    return list(dict.fromkeys([*stage.inputs, *ALWAYS]))


def stage_command(stage: Stage, *posargs: str) -> list[str]:
    """The command a stage's function runs in its container, from the repository's root."""
    return ["./dev", "nox", "-s", stage.name, *(["--", *posargs] if posargs else [])]


def nox_stage(source: dagger.Directory, stage: Stage, images: Images, *posargs: str) -> dagger.Container:
    """The stage's nox session in the Python image; only the stage's inputs are copied (cache-friendly)."""
    command = stage_command(stage, *posargs)
    return (
        dag.container()
        .from_(images.python)
        .with_exec(["sh", "-c", f"{APT_INSTALL} git redis-server"])
        .with_mounted_cache(UV_CACHE, dag.cache_volume("bedrockgate-uv"))
        .with_env_variable("UV_CACHE_DIR", UV_CACHE)
        .with_directory(WORKDIR, source, include=stage_inputs(stage))
        .with_workdir(WORKDIR)
        .with_exec(command)
    )


def tests_stage(source: dagger.Directory, stage: Stage, images: Images, package: str) -> dagger.Container:
    """One package's tests (``nox -s "tests(package='X')"``)."""
    return nox_stage(source, stage, images).with_exec(["./dev", "nox", "-s", f"tests(package='{package}')"])


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
        dag.container().from_(images.python).with_service_binding("gateway", proxy).with_exec(["python", "-c", probe])
    )


def deploy_container(
    source: dagger.Directory,
    images: Images,
    *,
    aws_access_key_id: dagger.Secret,
    aws_secret_access_key: dagger.Secret,
    aws_session_token: dagger.Secret | None,
    region: str,
    settings: str,
    gateway_image: str,
) -> dagger.Container:
    """``cdk deploy --all`` of the infra app; credentials only as secrets, never as env or arguments."""
    container = (
        dag.container()
        .from_(images.node)
        .with_exec(["sh", "-c", f"{APT_INSTALL} python3 python3-venv"])
        .with_mounted_cache(UV_CACHE, dag.cache_volume("bedrockgate-uv"))
        .with_directory(WORKDIR, source, include=["pyproject.toml", "uv.lock", "packages", "dev", "scripts"])
        .with_workdir(f"{WORKDIR}/packages/infra")
        .with_secret_variable("AWS_ACCESS_KEY_ID", aws_access_key_id)
        .with_secret_variable("AWS_SECRET_ACCESS_KEY", aws_secret_access_key)
        .with_env_variable("AWS_REGION", region)
        .with_env_variable("AWS_DEFAULT_REGION", region)
    )
    if aws_session_token is not None:
        container = container.with_secret_variable("AWS_SESSION_TOKEN", aws_session_token)
    app = "../../dev uv run --frozen --package bedrockgate-infra python -m bedrockgate.infra"
    return container.with_exec(
        ["npx", "--yes", CDK_CLI, "deploy", "--all", "--require-approval", "never", "--app", app,
         "-c", f"settings={settings}", "-c", f"gateway_image={gateway_image}",
         "--outputs-file", OUTPUTS],
    )  # fmt: skip
