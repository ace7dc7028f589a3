"""The command is named as its distribution; the old name is a deprecated alias of the same entry point (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

from bedrockgate.local_stack.cli import main

DISTRIBUTION = "bedrockgate-local-stack"
COMMAND = "bedrockgate-local-stack"
ALIAS = "local-stack"  # deprecated: removed in the next minor release


def test_the_command_and_its_alias_resolve_to_the_same_entry_point() -> None:
    scripts = {ep.name: ep for ep in distribution(DISTRIBUTION).entry_points if ep.group == "console_scripts"}
    assert set(scripts) == {COMMAND, ALIAS}, f"{DISTRIBUTION} declares console scripts {sorted(scripts)}"
    assert scripts[COMMAND].value == scripts[ALIAS].value == "bedrockgate.local_stack.cli:main"
    assert scripts[COMMAND].load() is main
    assert scripts[ALIAS].load() is main


def test_both_installed_scripts_run() -> None:
    bin_dir = Path(sys.executable).parent
    for name in (COMMAND, ALIAS):
        done = subprocess.run([bin_dir / name, "--help"], capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{name} --help: exit {done.returncode}: {done.stderr[-2000:]}"
        assert done.stdout.startswith("usage: "), f"{name} --help printed {done.stdout[:200]!r}"
