"""A wrong key is a 401, also on a proxy that runs without a key database.

LiteLLM 1.106.2 checks a bearer token against the master key first; a token that is not the master
key is looked up in the database, and with no database connected it raises
``ProxyException("No connected db.", type="no_db_connection", code=400)``
(``litellm/proxy/auth/user_api_key_auth.py``). So on a DB-less proxy (the local stack, any
deployment without ``DATABASE_URL``) every wrong key is a ``400 Bad Request``: a client reads its
own mistake as a malformed request, and a key scan looks like bad traffic, not like failed logins.

LiteLLM's documented way to change an error answer is a callback's ``async_post_call_failure_hook``
returning an ``HTTPException``: the auth error handler runs every callback's hook before it builds
the response (``auth_exception_handler.py``), and the first exception returned wins. The metrics
callback is the callback every bedrockgate proxy loads, so the answer is the same wherever the
config runs. Exactly that one exception is rewritten (its type, code and message), nothing else:

- with a database connected (Aurora in AWS) LiteLLM never raises it: wrong keys are 401 from the
  key lookup itself and real virtual keys are checked as usual, so the hook changes nothing there;
- the database-outage answer (``no_db_connection`` with code 503, ``allow_requests_on_db_unavailable``)
  is left alone: LiteLLM decides that before the hooks run, and its code is not 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fastapi import HTTPException

__all__ = ["NO_KEY_DATABASE_MESSAGE", "answer_for", "is_no_key_database_rejection", "rejected_status"]

_LITELLM_MESSAGE: Final = "No connected db."
NO_KEY_DATABASE_MESSAGE: Final = (
    "Authentication Error, invalid API key: this gateway runs without a key database, so only its "
    "master key is accepted (virtual keys need DATABASE_URL)."
)
"""What a wrong key gets instead of LiteLLM's ``400 No connected db.``: says what failed and why."""


def is_no_key_database_rejection(exception: object) -> bool:
    """Whether ``exception`` is LiteLLM's answer to a non-master key on a proxy without a database."""
    try:
        from litellm.proxy._types import ProxyErrorTypes, ProxyException  # noqa: PLC0415 - loaded inside a proxy
    except ImportError:  # no proxy here, so no proxy exception either
        return False
    return (
        isinstance(exception, ProxyException)
        and exception.type == ProxyErrorTypes.no_db_connection
        and exception.code == "400"
        and exception.message == _LITELLM_MESSAGE
    )


_LITELLM_NO_KEY_MESSAGES: Final = frozenset(
    {"No api key passed in.", "Malformed API Key passed in. Ensure Key has `Bearer ` prefix."}
)
"""The bare ``Exception``s LiteLLM's key check raises for a missing key, which its handler answers 401."""


def rejected_status(exception: object) -> int | None:
    """The status a client got for a key rejection LiteLLM logs as a bare failure, or ``None``.

    LiteLLM logs the failure before it builds the answer, with the exception as raised: a missing
    key is a bare ``Exception`` (no status: a metrics record would say 500, and an error-rate alarm
    would read a key scan as a server failure), the no-database rejection a 400 this module turns
    into 401. Both are 401 for the client, so the record says 401 too.
    """
    if is_no_key_database_rejection(exception):
        return 401
    if type(exception) is Exception and str(exception) in _LITELLM_NO_KEY_MESSAGES:
        return 401
    return None


def answer_for(exception: object) -> HTTPException | None:
    """The 401 to answer instead, or ``None`` to leave LiteLLM's own answer as it is."""
    if not is_no_key_database_rejection(exception):
        return None
    from fastapi import HTTPException  # noqa: PLC0415 - only inside a proxy, where fastapi is loaded

    return HTTPException(status_code=401, detail=NO_KEY_DATABASE_MESSAGE)
