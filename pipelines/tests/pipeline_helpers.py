"""What several test modules share: the repository's root and the synthesized app's description.

Imported as a module (``from pipeline_helpers import ...``); conftest.py keeps only the fixtures. The
pipeline's code is installed in the tests' venv (the ``pipelines`` group), so no path is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synthesized:
    """The app synthesized by the deploy's own command (synth-only: no AWS), and what it was given."""

    out: Path
    image: str
    commit: str
