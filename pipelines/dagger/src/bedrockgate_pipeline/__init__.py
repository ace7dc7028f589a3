"""bedrockgate's pipeline: the stage definition (``stages``), shared by nox and the Dagger module (``main``)."""
