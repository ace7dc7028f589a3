"""The Amazon Lex V2 fulfillment Lambda that answers through the gateway.

A skeleton for now: it reserves the import name ``bedrockgate.lex_fulfillment`` so that the
workspace, the build and the per-package tests cover it from the first day.
"""
