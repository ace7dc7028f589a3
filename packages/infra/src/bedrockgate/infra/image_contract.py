"""The gateway image's contract: how ECS runs the image, and what the image must provide for it.

The gateway image is ours (built by the pipeline: a Debian bookworm base, the lock's exact wheels in
``/opt/venv``, tini as PID 1, an entrypoint that takes LiteLLM's CLI arguments). The gateway stack
runs it exactly as this module says, and the image build's smoke test imports the same values to
run the container exactly as ECS does:

- the command is LiteLLM's CLI arguments, ``--config <gateway_config_path_in_image> --port
  GATEWAY_PORT``;
- the process runs as ``GATEWAY_USER`` (a fixed non-root UID:GID) with a read-only root
  filesystem: only ``GATEWAY_WRITABLE_PATHS`` are writable (the image sets ``HOME`` and ``TMPDIR``
  to ``/tmp``);
- health is LiteLLM's own route ``HEALTH_PATH`` on the proxy port (the litellm wheel has no separate
  health app), probed by ECS with ``HEALTH_CHECK_COMMAND`` (exec form: Debian's
  ``/usr/bin/python3``, no shell) and by the ALB on the same port and path;
- ``CONFIG_DIGEST_VARIABLE`` carries the sha256 of the rendered config; the entrypoint refuses to
  start when it differs from the sha256 of the file passed with ``--config``;
- the image is labelled ``DATABASE_LABEL=available|unavailable``: an image built without LiteLLM's
  Prisma engines is ``unavailable`` and its entrypoint refuses ``DATABASE_URL``, so infra refuses
  to deploy a config that uses a database on it (:func:`check_image_database`).

Writable paths on Fargate. Fargate has no tmpfs: each writable path is a task-definition volume with
no host or EFS configuration, i.e. a bind mount on the task's ephemeral storage, mounted read-write.
AWS documents (Amazon ECS developer guide, "Use bind mounts with Amazon ECS", considerations) that
such a volume is created with mode ``0755`` and owner ``root``, so UID 10001 could not write to it,
unless the image declares the path with a ``VOLUME`` instruction: when the absolute path of a
``VOLUME`` instruction equals the mount's ``containerPath``, the ECS data plane copies what the
image holds at that path into the volume, and the directory's owner and permissions set in the
Dockerfile are the volume's. So for every path in ``GATEWAY_WRITABLE_PATHS`` the image must:

1. hold it as a real directory (not a symlink: Fargate does not follow a symlinked ``VOLUME``
   path), owned by ``GATEWAY_USER`` and with mode ``1777`` (the owner makes it writable however
   the copy treats the mode; the sticky world-writable mode keeps it usable by any user);
2. declare it with ``VOLUME ["/tmp"]`` *after* the step that sets its owner and mode (a build step
   after ``VOLUME`` cannot change the path), and keep nothing there it does not want copied into
   every task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from bedrockgate.gateway_config import EnvRef, required_env
from bedrockgate.infra.exceptions import GatewayImageError

if TYPE_CHECKING:
    from pathlib import Path

    from bedrockgate.gateway_config import GatewayConfig

__all__ = [
    "CONFIG_DIGEST_VARIABLE",
    "DATABASE_LABEL",
    "DATABASE_VARIABLE",
    "GATEWAY_PORT",
    "GATEWAY_USER",
    "GATEWAY_WRITABLE_PATHS",
    "HEALTH_CHECK_COMMAND",
    "HEALTH_PATH",
    "READONLY_ROOT_FILESYSTEM",
    "GatewayImageError",
    "ImageDatabase",
    "check_image_database",
    "database_uses",
    "health_check_command",
]

GATEWAY_PORT: Final = 4000
"""The proxy's port: LiteLLM's ``--port``, the ALB target's port and the health checks' port."""
GATEWAY_USER: Final = "10001:10001"
"""The UID:GID the container runs as (ECS ``user``; ``podman run --user``)."""
GATEWAY_WRITABLE_PATHS: Final[tuple[str, ...]] = ("/tmp",)  # noqa: S108  # the image's own /tmp, mounted per task
"""The only paths LiteLLM writes; everything else is read-only (``readonlyRootFilesystem``)."""
READONLY_ROOT_FILESYSTEM: Final = True
"""ECS ``readonlyRootFilesystem`` (``podman run --read-only``)."""
HEALTH_PATH: Final = "/health/liveliness"
"""LiteLLM's liveness route, served by the proxy itself on ``GATEWAY_PORT``."""
CONFIG_DIGEST_VARIABLE: Final = "BEDROCKGATE_CONFIG_SHA256"
"""The variable holding the sha256 (hex) of the rendered config, which the entrypoint checks."""
DATABASE_LABEL: Final = "bedrockgate.database"
"""The image label that says whether LiteLLM's database features work in the image."""
DATABASE_VARIABLE: Final = "DATABASE_URL"
"""The variable an ``unavailable`` image's entrypoint refuses."""

ImageDatabase = Literal["available", "unavailable"]
"""The values of ``DATABASE_LABEL``."""


def health_check_command(port: int = GATEWAY_PORT, path: str = HEALTH_PATH) -> tuple[str, ...]:
    """The container health check in exec form: the image's ``python3`` fetches the liveness route.

    It exits non-zero when the proxy does not answer 2xx within 4 s (``urlopen`` raises).
    """
    return (
        "python3",
        "-c",
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=4)",
    )


HEALTH_CHECK_COMMAND: Final = health_check_command()
"""What ECS runs (as ``CMD``) inside the container to decide it is healthy."""


def database_uses(config: GatewayConfig) -> tuple[str, ...]:
    """Where the config makes LiteLLM use a database, as dotted paths; empty when it does not.

    ``general_settings.database_url`` (whatever variable it reads: LiteLLM exports it as
    ``DATABASE_URL`` for Prisma), and any field that reads ``os.environ/DATABASE_URL``, which puts
    the variable in the container's environment.
    """
    uses: list[str] = []
    general = config.general_settings
    if general is not None and general.database_url is not None:
        uses.append("general_settings.database_url")
    for variable in required_env(config):
        if variable.name == DATABASE_VARIABLE:
            uses.extend(path for path in variable.dotted_paths if path not in uses)
    return tuple(uses)


def check_image_database(image_database: ImageDatabase, config: GatewayConfig, *, config_path: Path | str) -> None:
    """Refuse a config that uses a database when the gateway image has none (raise GatewayImageError)."""
    if image_database == "available":
        return
    uses = database_uses(config)
    if not uses:
        return
    general = config.general_settings
    reads = (
        f" (reads os.environ/{general.database_url.name})"
        if general is not None and isinstance(general.database_url, EnvRef)
        else ""
    )
    raise GatewayImageError(
        f"gateway_image_database is 'unavailable' (the gateway image is labelled {DATABASE_LABEL}=unavailable: "
        f"it was built without LiteLLM's Prisma engines and its entrypoint refuses {DATABASE_VARIABLE}), but the "
        f"gateway config {config_path} uses a database: {', '.join(uses)}{reads}.\n"
        "Either build the gateway image where LiteLLM's Prisma engines can be downloaded (it is then labelled "
        f"{DATABASE_LABEL}=available) and set gateway_image_database: available (the default) in the deployment "
        "settings or with -c gateway_image_database=available, or deploy a gateway config without "
        f"general_settings.database_url and without os.environ/{DATABASE_VARIABLE} (LiteLLM then runs without "
        "virtual keys and spend logs)."
    )
