"""The whole gateway on one machine, with no AWS account.

A Bedrock runtime emulator (Converse, ConverseStream, Titan embeddings, ApplyGuardrail, fault
injection) backed by small embedded models, started with Redis, Phoenix and the real LiteLLM proxy
by ``bedrockgate-local-stack up`` or, in Python, by :class:`LocalStack`.
"""

from bedrockgate.local_stack.exceptions import LocalStackError
from bedrockgate.local_stack.settings import BackendRule, EmulatorSettings, Faults
from bedrockgate.local_stack.stack import LocalStack, StackInfo, StackOptions

__all__ = ["BackendRule", "EmulatorSettings", "Faults", "LocalStack", "LocalStackError", "StackInfo", "StackOptions"]
