"""The AWS CDK app that deploys the gateway, derived from its config.

A skeleton for now: it reserves the import name ``bedrockgate.infra`` so that the
workspace, the build and the per-package tests cover it from the first day.
"""
