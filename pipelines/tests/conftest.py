"""The pipeline's code is imported from its Dagger module's source folder, as the noxfile does."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "pipelines" / "dagger" / "src"))
