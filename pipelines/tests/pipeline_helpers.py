"""What several test modules share: the repository's root and the synthesized app's description.

Imported as a module (``from pipeline_helpers import ...``); conftest.py keeps only the fixtures (and
the path to the pipeline's source, which must be set before any test module imports it).
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
