"""``python -m bedrockgate.evals``: the same as the ``bedrockgate-evals`` command."""

from bedrockgate.evals.cli import main

raise SystemExit(main())
