"""Git, as every stage reads it: one place for the subprocess call and its error."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bedrockgate_pipeline.errors import PipelineError


def run_git(root: Path, *args: str) -> str:
    """Git's stdout; a failure names the command and git's own message."""
    try:
        return subprocess.run(  # noqa: S603 -- fixed git arguments
            ["git", *args],  # noqa: S607 -- git from PATH, as every developer runs it
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as error:
        raise PipelineError(f"git {' '.join(args)} failed: {error.stderr.strip()} (is the ref fetched?)") from error
