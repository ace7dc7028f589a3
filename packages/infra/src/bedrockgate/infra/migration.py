"""LiteLLM's database migration: once per deployment, not once per task.

LiteLLM migrates its schema in the CLI process before the server starts (``litellm/proxy/proxy_cli.py``:
``PrismaManager.setup_database`` when ``should_update_prisma_schema`` says so), once per task, so
every task a deployment or a scale-out starts would run ``prisma migrate deploy`` against the same
database, concurrently. ``should_update_prisma_schema(general_settings.disable_prisma_schema_update)``
reads the ``DISABLE_SCHEMA_UPDATE`` variable when the config does not set the key, so:

- the gateway's containers get ``DISABLE_SCHEMA_UPDATE=true``: no task migrates (each still runs
  LiteLLM's read-only ``prisma migrate diff`` check and logs a schema out of sync);
- one migration task per deployment runs the same image with ``--config <path> --skip_server_startup``
  (LiteLLM's setup, the migration included, then exit) and ``DISABLE_SCHEMA_UPDATE=false``, started
  by a custom resource whose properties are the image and the config digest: it runs again only when
  one of them changes, and the service's new tasks start after it succeeded
  (:class:`bedrockgate.infra.constructs.database_migration.DatabaseMigration`).

A config that sets ``general_settings.disable_prisma_schema_update`` decides for every process,
the variable notwithstanding: ``true`` means the operator migrates (nothing is synthesised here),
``false`` would make every task migrate again and is refused. A config without a database, or an
image without Prisma (refused earlier when the config uses a database), needs none of this.

Pure: :func:`bedrockgate.infra.derivation.derive_deployment` calls it, and so do the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bedrockgate.gateway_config import GatewayConfig
from bedrockgate.infra.exceptions import ConfigMismatchError
from bedrockgate.infra.image_contract import database_uses
from bedrockgate.infra.settings import DeploymentSettings

__all__ = [
    "CONFIG_SWITCH",
    "MIGRATION_RESOURCE_TYPE",
    "SCHEMA_UPDATE_VARIABLE",
    "SKIP_SERVER_STARTUP",
    "DatabaseMigration",
    "database_migration",
    "migration_summary",
]

SCHEMA_UPDATE_VARIABLE: Final = "DISABLE_SCHEMA_UPDATE"
"""LiteLLM's switch (``should_update_prisma_schema``): ``true`` in the service, ``false`` in the migration task."""
CONFIG_SWITCH: Final = "disable_prisma_schema_update"
"""The ``general_settings`` key that, when set, wins over ``SCHEMA_UPDATE_VARIABLE``."""
MIGRATION_RESOURCE_TYPE: Final = "Custom::DatabaseMigration"
"""The custom resource that runs the migration task (:mod:`bedrockgate.infra.constructs.database_migration`)."""
SKIP_SERVER_STARTUP: Final = "--skip_server_startup"
"""LiteLLM's CLI flag: do the setup (the migration included), then exit without serving."""


@dataclass(frozen=True, slots=True)
class DatabaseMigration:
    """The one-off migration task a deployment runs before the gateway's tasks start."""

    uses: tuple[str, ...]
    """Where the config uses the database (``general_settings.database_url``, ...)."""
    command: tuple[str, ...]
    """The migration container's command: LiteLLM's CLI arguments."""


def database_migration(settings: DeploymentSettings, config: GatewayConfig) -> DatabaseMigration | None:
    """The migration to run once per deployment, or None when the config uses no database or migrates itself.

    Raises ConfigMismatchError when the config sets ``disable_prisma_schema_update`` to false (every
    task would migrate again).
    """
    uses = database_uses(config)
    if not uses or settings.gateway_image_database != "available":
        return None
    general = config.general_settings
    switch = general.passthrough.get(CONFIG_SWITCH) if general is not None else None
    if switch is not None:
        if _true(switch):
            return None
        settings_file = settings.settings_file or "the deployment settings"
        raise ConfigMismatchError(
            f"the gateway config {settings.gateway_config} sets general_settings.{CONFIG_SWITCH}: {switch!r}, which "
            f"wins over {SCHEMA_UPDATE_VARIABLE}: every gateway task (each one a deployment or a scale-out "
            "starts) would migrate the database again, concurrently. Infra runs the migration once per deployment "
            f"for {settings_file}: remove general_settings.{CONFIG_SWITCH} from the config (or set it to true "
            "and migrate the database yourself)."
        )
    command = ("--config", settings.gateway_config_path_in_image, SKIP_SERVER_STARTUP)
    return DatabaseMigration(uses=uses, command=command)


def migration_summary(settings: DeploymentSettings, migration: DatabaseMigration | None) -> str:
    """One line for the synth report: how the database is migrated, if at all."""
    if migration is None:
        return "gateway database migration: none synthesised (the config uses no database, or migrates it itself)"
    return (
        f"gateway database migration: once per deployment, by the task {settings.prefix}-gateway-migration "
        f"({' '.join(migration.command)}) that {MIGRATION_RESOURCE_TYPE} runs when the image or the config digest "
        f"changes; the service's tasks get {SCHEMA_UPDATE_VARIABLE}=true"
    )


def _true(value: object) -> bool:
    """LiteLLM's reading of the switch: a string through ``str_to_bool`` (only "true" is true), else ``bool``."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
