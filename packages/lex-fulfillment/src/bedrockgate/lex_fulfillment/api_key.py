"""The gateway key: from Secrets Manager in production, fetched once per container and kept.

``LITELLM_API_KEY_SECRET_ARN`` names the secret. Its ``SecretString`` is either the key itself, or
a JSON object holding it under ``LITELLM_API_KEY_SECRET_FIELD`` (default ``api_key``), the shape
the Secrets Manager console writes. ``LITELLM_API_KEY`` gives the key in plain text, for local
runs only.

A key that stops working (HTTP 401 after a rotation) is dropped with ``invalidate`` and read
again, so a container does not keep failing with a stale key until Lambda recycles it.

boto3 is imported here and only here, when the secret is first read: the Lambda runtime ships
it, and importing it costs far more than the rest of the handler, so it is not a dependency.
"""

from __future__ import annotations

import importlib
import json

from bedrockgate.lex_fulfillment.exceptions import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from bedrockgate.lex_fulfillment.settings import Settings

__all__ = ["KeyCache", "fetch_secret_string", "key_from_secret"]


class KeyCache:
    """Gateway keys read from Secrets Manager, kept for the life of the container.

    ``fetch(secret ARN, region, timeout in seconds)`` returns the ``SecretString``; the default
    asks Secrets Manager. One invocation runs at a time in a Lambda container, so the cache needs
    no lock.
    """

    __slots__ = ("_fetch", "_keys")

    def __init__(self, fetch: Callable[[str, str | None, float], object] | None = None) -> None:
        self._fetch = fetch or fetch_secret_string
        self._keys: dict[tuple[str, str], str] = {}

    def api_key(self, settings: Settings, timeout: float) -> str | None:
        """The key to send: the secret's (read once), else ``LITELLM_API_KEY``, else none.

        Raises ``SecretUnavailableError`` naming the secret and the reason, never its value.
        """
        arn = settings.api_key_secret_arn
        if arn is None:
            return settings.api_key
        cache_key = (arn, settings.api_key_secret_field)
        key = self._keys.get(cache_key)
        if key is None:
            try:
                secret = self._fetch(arn, settings.secret_region, timeout)
            except Exception as error:
                reason = f"{type(error).__name__}: {str(error)[:300]}"
                raise SecretUnavailableError(f"could not read the gateway key from {arn}: {reason}") from error
            key = key_from_secret(secret, settings.api_key_secret_field, arn)
            self._keys[cache_key] = key
        return key

    def invalidate(self, settings: Settings) -> None:
        """Forget the key read for ``settings``, so the next ``api_key`` reads the secret again."""
        if settings.api_key_secret_arn is not None:
            self._keys.pop((settings.api_key_secret_arn, settings.api_key_secret_field), None)


def key_from_secret(secret: object, field: str, arn: str) -> str:
    """The key in a ``SecretString``: the whole string, or ``field`` of a JSON object."""
    if not isinstance(secret, str) or not secret.strip():
        raise SecretUnavailableError(f"{arn} has no SecretString: store the gateway key as text")
    text = secret.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise SecretUnavailableError(
                f"{arn} starts with '{{' but is not JSON: store the key or a JSON object"
            ) from None
        value = data.get(field) if isinstance(data, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise SecretUnavailableError(
                f"{arn} is a JSON object without a non-empty string {field!r}: "
                "store the key under that name, or set LITELLM_API_KEY_SECRET_FIELD"
            )
        return value.strip()
    return text


def fetch_secret_string(arn: str, region: str | None, timeout: float) -> object:
    """``GetSecretValue(arn)['SecretString']`` with boto3, in at most about ``timeout`` seconds.

    Two attempts with connect and read timeouts of a fifth of ``timeout`` each (capped at 2 and
    3 s) keep a slow Secrets Manager from eating the invocation's budget, while one throttled
    call on a cold start still gets a second chance.
    """
    # Imported by name so that type checking does not need boto3's stubs: it is not a dependency.
    boto3 = importlib.import_module("boto3")
    config = importlib.import_module("botocore.config").Config(
        connect_timeout=max(0.1, min(2.0, timeout / 5)),
        read_timeout=max(0.1, min(3.0, timeout / 5)),
        retries={"total_max_attempts": 2, "mode": "standard"},
    )
    client = boto3.client("secretsmanager", region_name=region, config=config)
    return client.get_secret_value(SecretId=arn).get("SecretString")
