"""The metrics callback's own jobs, loaded by the root noxfile: the benchmark (figures, not a test)."""

from __future__ import annotations

from pathlib import Path

import nox
from bedrockgate_pipeline.nox_env import sync

PACKAGE = Path(__file__).parent


@nox.session(python="3.11", default=False)
def bench_metrics(session: nox.Session) -> None:
    """The record's cost per line, then the callback's cost in the real proxy, with and without it.

    First ``tests/bench_record.py``: reading the payload, building and encoding the record (and the
    standard library's and orjson's encodings of the same record, for comparison), per line.
    ``./dev nox -s bench_metrics`` sends 2,000 requests to each of three proxies (no callback, a no-op
    callback, this callback) at concurrency 16, in 10 rounds of rotating order; pass
    ``-- --requests N --concurrency C --rounds R`` to change that.
    """
    sync(session, "--package", "bedrockgate-metrics-callback", "--no-default-groups", "--group", "bench")
    session.run("python", str(PACKAGE / "tests" / "bench_record.py"))
    session.run(
        "python",
        str(PACKAGE / "bench" / "proxy_bench.py"),
        *session.posargs,
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
