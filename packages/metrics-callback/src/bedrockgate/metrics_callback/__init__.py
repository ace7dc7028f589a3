"""A LiteLLM callback that turns every gateway request into CloudWatch EMF metrics.

A skeleton for now: it reserves the import name ``bedrockgate.metrics_callback`` so that the
workspace, the build and the per-package tests cover it from the first day.
"""
