"""Fixtures: one real local stack for the end-to-end tests, and pytest's settings for them.

The readers of what the stack wrote (and its key) are in local_stack_helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from bedrockgate.local_stack.settings import EmulatorSettings
from bedrockgate.local_stack.stack import LocalStack, StackOptions
from e2e_config import EMULATOR_RULES, SCRIPTED_REPLIES, write_e2e_config
from hypothesis import settings
from local_stack_helpers import MASTER_KEY, require_binaries

# Timing is the benchmarks' job, never a test's: on a loaded 2-core CI machine hypothesis's default 200 ms
# deadline per example fails correct code (it did, in pipelines/tests/test_publish.py).
settings.register_profile("bedrockgate", deadline=None)
settings.load_profile("bedrockgate")

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# Warnings LiteLLM 1.106.2 raises while it works (the emulator tests call its SDK), each matched
# narrowly; every other warning stays an error (the root config's filterwarnings = ["error"]).
LITELLM_WARNINGS = (
    # pydantic, building schemas of LiteLLM's ReadOnly TypedDicts on first use
    "ignore:Items? .* on TypedDict class .* (is|are) using the `ReadOnly` qualifier:UserWarning",
    # its streaming handler reads pydantic attributes deprecated in pydantic 2.11
    "ignore:Accessing the 'model_(computed_)?fields' attribute on the instance is deprecated:DeprecationWarning",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gateway-image",
        default=None,
        help="run the stack's proxy from this gateway image under podman (nox -s gateway_image_amd64 passes it)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in LITELLM_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[LocalStack]:
    """The whole gateway: emulator (embedded + scripted models), Redis, Phoenix, the real proxy.

    With ``--gateway-image REF`` the proxy is the gateway image's, run as ECS runs it.
    """
    require_binaries()
    directory = tmp_path_factory.mktemp("stack")
    options = StackOptions(
        config=write_e2e_config(directory),
        port=_free_port(),
        emulator_settings=EmulatorSettings.model_validate(
            {"rules": EMULATOR_RULES, "seed": 7, "scripted_replies": SCRIPTED_REPLIES}
        ),
        redis=True,
        phoenix=True,
        state_dir=directory / "state",
        master_key=MASTER_KEY,
        startup_timeout_s=300,
        gateway_image=pytestconfig.getoption("--gateway-image"),
    )
    with LocalStack(options) as running:
        yield running


def _free_port() -> int:
    from bedrockgate.local_stack.processes import free_port  # noqa: PLC0415 -- keep fixtures' imports together

    return free_port()
