"""The lex-fulfillment package's own jobs, loaded by the root noxfile (not default sessions).

- ``./dev nox -s lambda_zip`` builds ``dist/lambda/lex-fulfillment.zip``, the artefact infra deploys
  (``-- --bytecode`` adds Python 3.11 bytecode: only for a python3.11 Lambda runtime).
- ``./dev nox -s bench_lex`` prints the benchmark figures: import time, zip size, per-invocation
  overhead.

Both install the package from ``uv.lock`` alone, with no test tools: the zip and the figures come
from exactly what ships. (The root ``build`` session clears ``dist/``; run ``lambda_zip`` after it.)
"""

from __future__ import annotations

from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parents[1]
DISTRIBUTION = "bedrockgate-lex-fulfillment"
PYTHON = "3.11"


def _sync_package_alone(session: nox.Session) -> None:
    """Install this package from the lock into the session's venv, and nothing else (``--exact``)."""
    sync(session, "--package", DISTRIBUTION, "--no-default-groups")


@nox.session(python=PYTHON, default=False)
def lambda_zip(session: nox.Session) -> None:
    """Build the Lex fulfillment Lambda's deployment zip into dist/lambda/ (posargs: --bytecode)."""
    _sync_package_alone(session)
    session.run("python", "-m", "bedrockgate.lex_fulfillment.bundle", str(ROOT / "dist" / "lambda"), *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench_lex(session: nox.Session) -> None:
    """Print the Lex handler's figures: import time, zip size, per-invocation overhead (no pass/fail)."""
    _sync_package_alone(session)
    session.run("python", str(PACKAGE / "tests" / "bench_lex.py"))
