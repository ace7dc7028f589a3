"""The gateway image's entrypoint: check what the container was given, then become LiteLLM's proxy.

It runs under tini (PID 1) and replaces itself with ``litellm`` (``exec``), so SIGTERM reaches the
proxy directly and uvicorn finishes in-flight requests before exiting. Standard library only.

Refuses to start, with exit code 78 (EX_CONFIG) and a message that says why and what to do, when
- ``BEDROCKGATE_CONFIG_SHA256`` is set and differs from the sha256 of the ``--config`` file (infra
  sets it to the digest of the config it derived the deployment from: a mismatch means the image
  and the infrastructure were built from different configs);
- ``DATABASE_URL`` is set but the image was built without LiteLLM's Prisma engines
  (``bedrockgate.database=unavailable``): the proxy would try to download them at first start,
  which a read-only root filesystem and a network without that host both forbid;
- the worker count (``--num_workers``, else ``NUM_WORKERS``, which infra sets to the task's vCPUs)
  is not a positive whole number: LiteLLM's CLI would stop with a usage error on a word, and
  uvicorn would quietly run one worker on ``0`` or a negative count.

With more than one worker, uvicorn's supervisor kills a worker that does not answer its health
ping within ``TIMEOUT_WORKER_HEALTHCHECK`` seconds (uvicorn's default 5); a spawned worker answers
only after importing LiteLLM, which takes longer than that on a busy vCPU, so the image sets 60
(``Containerfile``): with 5 the workers were killed and respawned forever, and the task never served.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

IMAGE_FACTS = Path("/opt/bedrockgate/image.json")
LITELLM = "/opt/venv/bin/litellm"
EX_CONFIG = 78


def _option(argv: list[str], name: str) -> str | None:
    for index, argument in enumerate(argv):
        if argument == name and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
    return None


def _workers_problem(argv: list[str], environ: dict[str, str]) -> str | None:
    """Why the worker count LiteLLM would use is not a positive whole number; None when it is (or unset)."""
    given = _option(argv, "--num_workers")
    source = "--num_workers"
    if given is None:
        given, source = environ.get("NUM_WORKERS", ""), "NUM_WORKERS"
        if not given:  # unset or empty: LiteLLM's CLI takes its default, one worker
            return None
    if given.isascii() and given.isdigit() and int(given) > 0:
        return None
    return (
        f"{source} is {given!r}, but the number of LiteLLM worker processes must be a positive whole number "
        "(uvicorn would run one worker on 0 or less, LiteLLM's CLI refuses a word). Set it to the task's vCPUs "
        "(infra's gateway_workers setting does), or unset it for one worker."
    )


def problems(argv: list[str], environ: dict[str, str], facts: dict[str, str]) -> list[str]:
    """Every reason not to start, each a sentence with its fix."""
    found: list[str] = []
    if environ.get("DATABASE_URL") and facts.get("database") != "available":
        found.append(
            "DATABASE_URL is set, but this image was built without LiteLLM's Prisma engines "
            "(label bedrockgate.database=unavailable: the build machine could not download them), so "
            "virtual keys and spend tracking cannot work. Unset DATABASE_URL (and drop database_url from "
            "the config), or deploy an image built where the Prisma engines are reachable."
        )
    config = _option(argv, "--config") or facts.get("config_path", "/app/config.yaml")
    expected = environ.get("BEDROCKGATE_CONFIG_SHA256", "").strip().lower()
    if expected:
        try:
            actual = hashlib.sha256(Path(config).read_bytes()).hexdigest()
        except OSError as error:
            found.append(f"cannot read the config {config} ({error.strerror}): mount it or pass --config")
        else:
            if actual != expected:
                found.append(
                    f"the config {config} has sha256 {actual}, but BEDROCKGATE_CONFIG_SHA256 is {expected}: "
                    "the image and the deployment were built from different configs. Deploy the image built "
                    "for this config, or set BEDROCKGATE_CONFIG_SHA256 to the mounted file's sha256."
                )
    workers = _workers_problem(argv, environ)
    if workers is not None:
        found.append(workers)
    return found


def main() -> None:
    """Check, then exec LiteLLM with the same arguments."""
    argv = sys.argv[1:]
    facts: dict[str, str] = json.loads(IMAGE_FACTS.read_text(encoding="utf-8"))
    found = problems(argv, dict(os.environ), facts)
    for problem in found:
        print(f"bedrockgate-gateway: refusing to start: {problem}", file=sys.stderr)
    if found:
        raise SystemExit(EX_CONFIG)
    os.execv(LITELLM, [LITELLM, *argv])  # noqa: S606 -- a fixed path in the image, the container's own arguments


if __name__ == "__main__":
    main()
