"""The Amazon Lex V2 fulfillment Lambda that answers through the gateway, whatever happens.

The Lambda handler is ``bedrockgate.lex_fulfillment.lambda_handler``: a Lex V2 event in, the
gateway's answer out as a Lex V2 response that closes the intent, with the conversation's last
turns kept in a session attribute. Configuration comes from the environment (``Settings``);
every failure ends as a friendly message, never an exception::

    >>> from bedrockgate.lex_fulfillment import Fulfiller, JsonLog, Settings
    >>> settings = Settings(endpoint="https://gateway.example.com", model="claude-fast")
    >>> handler = Fulfiller(settings, log=JsonLog(lambda line: None))
    >>> response = handler({"inputTranscript": " ", "sessionState": {"sessionAttributes": {"id": "42"}}})
    >>> response["sessionState"]["dialogAction"], response["sessionState"]["intent"]
    ({'type': 'Close'}, {'name': 'FallbackIntent', 'state': 'Fulfilled'})
    >>> response["sessionState"]["sessionAttributes"]
    {'id': '42'}
    >>> response["messages"]
    [{'contentType': 'PlainText', 'content': "Sorry, I didn't catch that. Could you say it again?"}]

Only the standard library is imported at run time; boto3 (which Lambda provides) is imported
when the gateway key is first read from Secrets Manager.
"""

from bedrockgate.lex_fulfillment._version import __version__
from bedrockgate.lex_fulfillment.api_key import KeyCache
from bedrockgate.lex_fulfillment.events import LexRequest, parse_event
from bedrockgate.lex_fulfillment.exceptions import (
    ConfigurationError,
    GatewayError,
    GatewayResponseError,
    GatewayStatusError,
    GatewayTimeoutError,
    GatewayUnreachableError,
    LexFulfillmentError,
    NoTimeError,
    SecretUnavailableError,
)
from bedrockgate.lex_fulfillment.handler import Fulfiller, lambda_handler
from bedrockgate.lex_fulfillment.logs import JsonLog
from bedrockgate.lex_fulfillment.settings import Settings
from bedrockgate.lex_fulfillment.text import lex_length, split_reply, split_text

__all__ = [
    "ConfigurationError",
    "Fulfiller",
    "GatewayError",
    "GatewayResponseError",
    "GatewayStatusError",
    "GatewayTimeoutError",
    "GatewayUnreachableError",
    "JsonLog",
    "KeyCache",
    "LexFulfillmentError",
    "LexRequest",
    "NoTimeError",
    "SecretUnavailableError",
    "Settings",
    "__version__",
    "lambda_handler",
    "lex_length",
    "parse_event",
    "split_reply",
    "split_text",
]
