"""``python -m bedrockgate.evals``: the same as the ``gateway-evals`` command."""

from bedrockgate.evals.cli import main

raise SystemExit(main())
