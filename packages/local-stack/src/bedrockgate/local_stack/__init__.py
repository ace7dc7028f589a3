"""The whole gateway on one machine, with no AWS account.

A skeleton for now: it reserves the import name ``bedrockgate.local_stack`` so that the
workspace, the build and the per-package tests cover it from the first day.
"""
