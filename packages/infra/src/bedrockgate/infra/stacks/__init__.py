"""The app's stacks, one per concern; each module's docstring says what its stack holds."""
