"""The SQuAD evaluation suite and release gate for the gateway.

A skeleton for now: it reserves the import name ``bedrockgate.evals`` so that the
workspace, the build and the per-package tests cover it from the first day.
"""
