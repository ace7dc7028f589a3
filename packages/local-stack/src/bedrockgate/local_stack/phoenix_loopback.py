"""``phoenix serve`` with its gRPC OTLP receiver on 127.0.0.1, where Phoenix puts it on every interface.

Phoenix (arize-phoenix 12-13) binds its HTTP server to ``PHOENIX_HOST`` but its gRPC trace receiver
to ``[::]:PHOENIX_GRPC_PORT`` unconditionally (``phoenix/server/grpc_server.py``): on a laptop, anyone
on the network could write spans into the developer's Phoenix. The stack sends traces over OTLP/HTTP
and never uses that receiver, which Phoenix cannot switch off, so this launcher makes the gRPC server
bind the loopback address instead (found by the local stack's socket check, issue 16 item 5).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

LOOPBACK = "127.0.0.1"


def bind_grpc_to_loopback() -> None:
    """Make every ``grpc.aio`` server of this process bind ``[::]:PORT`` as ``127.0.0.1:PORT``."""
    aio: Any = importlib.import_module("grpc.aio")
    original = aio.server

    def loopback_server(*args: Any, **kwargs: Any) -> Any:
        server = original(*args, **kwargs)
        for name in ("add_insecure_port", "add_secure_port"):
            bind = getattr(server, name)

            def on_loopback(address: str, *rest: Any, _bind: Any = bind) -> Any:
                return _bind(address.replace("[::]:", f"{LOOPBACK}:", 1), *rest)

            setattr(server, name, on_loopback)
        return server

    aio.server = loopback_server


def main() -> None:
    """``python -m bedrockgate.local_stack.phoenix_loopback serve``: Phoenix's own CLI, after the patch."""
    bind_grpc_to_loopback()
    phoenix: Any = importlib.import_module("phoenix.server.main")
    sys.argv = ["phoenix", *sys.argv[1:]]
    phoenix.main()


if __name__ == "__main__":
    main()
