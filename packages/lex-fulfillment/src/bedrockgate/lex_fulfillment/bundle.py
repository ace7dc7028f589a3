"""Build the Lambda deployment zip: this package's run-time modules and nothing else.

    python -m bedrockgate.lex_fulfillment.bundle [OUT_DIR] [--bytecode]

writes ``OUT_DIR/lex-fulfillment.zip`` (default ``dist/lambda``) and prints its path, size and
SHA-256. The Lambda handler is ``bedrockgate.lex_fulfillment.lambda_handler``; the runtime
(python3.11 or later) provides everything else, boto3 included.

The zip is reproducible: entries are sorted, dated 1980-01-01 and world-readable, so the same
sources give the same bytes and the same ``CodeSha256``, and a redeploy without changes is a
no-op. It holds no ``.pth`` file and no third-party code.

``--bytecode`` adds ``__pycache__`` bytecode compiled by the running interpreter, in
unchecked-hash form (PEP 552; Lambda's ``/var/task`` is read-only, so Lambda would otherwise
compile the sources at every cold start). It only helps a runtime of the same Python version
(ignored by any other) and roughly triples the zip; see the README for the measured trade.
This module itself is a build tool and is left out of the zip.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["HANDLER", "ZIP_NAME", "build_zip", "describe", "main", "runtime_sources"]

HANDLER = "bedrockgate.lex_fulfillment.lambda_handler"
ZIP_NAME = "lex-fulfillment.zip"
_PACKAGE_DIR = Path(__file__).resolve().parent
_ARCHIVE_DIR = "bedrockgate/lex_fulfillment"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_BUILD_ONLY = frozenset({"bundle.py"})


def runtime_sources() -> list[Path]:
    """The modules the handler needs at run time, sorted."""
    return sorted(path for path in _PACKAGE_DIR.glob("*.py") if path.name not in _BUILD_ONLY)


def build_zip(out_dir: Path, *, bytecode: bool = False) -> Path:
    """Write the deployment zip into ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = [(f"{_ARCHIVE_DIR}/{path.name}", path.read_bytes()) for path in runtime_sources()]
    if bytecode:
        entries += _bytecode(entries)
    target = out_dir / ZIP_NAME
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    partial.replace(target)
    return target


def _bytecode(sources: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Unchecked-hash ``.pyc`` files for ``sources``, named for the running interpreter."""
    import py_compile  # noqa: PLC0415  # build-time only

    tag = sys.implementation.cache_tag
    compiled = []
    with tempfile.TemporaryDirectory(prefix="lex-bytecode-") as scratch:
        for name, data in sources:
            source = Path(scratch) / Path(name).name
            source.write_bytes(data)
            target = Path(scratch) / f"{source.stem}.{tag}.pyc"
            py_compile.compile(
                str(source),
                cfile=str(target),
                dfile=name,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            compiled.append((f"{_ARCHIVE_DIR}/__pycache__/{target.name}", target.read_bytes()))
    return compiled


def describe(path: Path) -> str:
    """Path, size, SHA-256 (hex, and base64 as Lambda reports ``CodeSha256``), and the handler name."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).digest()
    return (
        f"{path}\n  size: {len(data)} bytes\n  sha256: {digest.hex()}\n"
        f"  CodeSha256: {base64.b64encode(digest).decode()}\n  handler: {HANDLER}"
    )


def main(argv: list[str] | None = None) -> int:
    """The command line: build the zip, print what was built."""
    parser = argparse.ArgumentParser(
        prog="python -m bedrockgate.lex_fulfillment.bundle",
        description="Build the Lambda deployment zip of the Lex fulfillment handler.",
    )
    parser.add_argument(
        "out_dir", nargs="?", default="dist/lambda", type=Path, help="where to write lex-fulfillment.zip"
    )
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help=f"add bytecode for Python {sys.version_info[0]}.{sys.version_info[1]} runtimes",
    )
    arguments = parser.parse_args(argv)
    print(describe(build_zip(arguments.out_dir, bytecode=arguments.bytecode)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
