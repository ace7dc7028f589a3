"""The ``verify`` stage: after a deploy, the deployed endpoint answers as the gateway config says it should.

Checks, in order: health; one authenticated request per model group of the config (a chat
completion, or an embedding for a group whose ``model_info.mode`` is ``embedding``); a guardrail
intervention when the config defines a guardrail (a prompt carrying an e-mail address that the
model is asked to repeat: a masked address never comes back); a Lex round trip (RecognizeText)
when a bot is named. The eval gate against the same endpoint is the caller's last step
(``bedrockgate-evals run``), so this module stays free of the evals package.

Plain ``urllib``: the checks are four requests, and the pipeline's environment carries no HTTP client.
"""

from __future__ import annotations

import importlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from bedrockgate_pipeline.errors import PipelineError

Outcome = Literal["passed", "failed", "not checked"]
PII_ADDRESS = "verify.probe+pii@example.org"


class VerifyError(PipelineError):
    """The deployed endpoint failed a check, or the stage cannot run (bad endpoint, missing key)."""


@dataclass(frozen=True)
class Check:
    """One check's outcome, with what it saw."""

    name: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class GatewayConfig:
    """What verify needs from a gateway config: the model groups, which of them embed, the guardrails' names."""

    model_groups: tuple[str, ...]
    guardrails: tuple[str, ...]
    embedding_groups: frozenset[str] = frozenset()
    """Groups whose deployments are embedding models: asked for an embedding, never a chat answer."""

    @property
    def chat_groups(self) -> tuple[str, ...]:
        """The groups that answer chat completions, in the config's order."""
        return tuple(group for group in self.model_groups if group not in self.embedding_groups)


def read_config(path: Path) -> GatewayConfig:
    """The model groups (``model_list[].model_name``, in order) and guardrail names of a LiteLLM config."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise VerifyError(f"cannot read the gateway config {path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("model_list"), list):
        raise VerifyError(f"{path} has no model_list: pass the gateway config that was deployed (--config)")
    entries = [entry for entry in document["model_list"] if isinstance(entry, dict)]
    groups = [str(entry["model_name"]) for entry in entries]
    embedding = {str(entry["model_name"]) for entry in entries if _mode(entry) == "embedding"}
    guardrails = [
        str(entry["guardrail_name"])
        for entry in document.get("guardrails") or []
        if isinstance(entry, dict) and "guardrail_name" in entry
    ]
    return GatewayConfig(tuple(dict.fromkeys(groups)), tuple(guardrails), frozenset(embedding))


def _mode(entry: Mapping[str, Any]) -> object:
    info = entry.get("model_info")
    return info.get("mode") if isinstance(info, Mapping) else None


Post = Callable[[str, Mapping[str, Any] | None], tuple[int, Any]]


def http(base_url: str, api_key: str, *, timeout: float = 120.0) -> Post:
    """A JSON client for the endpoint: GET when the body is None, else POST; returns (status, parsed body)."""

    def call(path: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 -- the endpoint is the one the caller deployed
            base_url.rstrip("/") + path,
            data=data,
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            with error:  # an error response is a response too: close it
                return error.code, _json(error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise VerifyError(f"{base_url}{path} cannot be reached: {error}") from error

    return call


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:500]


def _answer(body: Any) -> str:
    try:
        return str(body["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        return ""


def health(call: Post) -> Check:
    """LiteLLM's liveliness route (what the ALB's target group probes)."""
    status, body = call("/health/liveliness", None)
    return Check("health", "passed" if status == 200 else "failed", f"HTTP {status}: {str(body)[:120]}")


def chat(call: Post, group: str) -> Check:
    """One short, authenticated chat completion through a model group."""
    status, body = call("/v1/chat/completions", {
        "model": group, "max_tokens": 16, "temperature": 0,
        "messages": [{"role": "user", "content": "Reply with one word: ready."}],
    })  # fmt: skip
    answer = _answer(body)
    passed = status == 200 and bool(answer.strip())
    return Check(f"chat {group}", "passed" if passed else "failed", f"HTTP {status}: {(answer or str(body))[:120]!r}")


def embedding(call: Post, group: str) -> Check:
    """One short, authenticated embedding through an embedding model group: a non-empty vector of numbers."""
    status, body = call("/v1/embeddings", {"model": group, "input": "ready"})
    try:
        vector = body["data"][0]["embedding"]
    except (KeyError, IndexError, TypeError):
        vector = None
    passed = (
        status == 200
        and isinstance(vector, list)
        and bool(vector)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in vector)
    )
    detail = f"a vector of {len(vector)} numbers" if passed and isinstance(vector, list) else str(body)[:120]
    return Check(f"embedding {group}", "passed" if passed else "failed", f"HTTP {status}: {detail}")


def guardrail(call: Post, group: str, name: str) -> Check:
    """The guardrail masks PII before the model sees it: an address the model is asked to repeat never comes back."""
    status, body = call("/v1/chat/completions", {
        "model": group, "max_tokens": 48, "temperature": 0, "guardrails": [name],
        "messages": [{"role": "user", "content": f"Repeat exactly, nothing else: write to {PII_ADDRESS} today."}],
    })  # fmt: skip
    answer = _answer(body)
    if status == 200 and PII_ADDRESS not in answer:
        return Check(f"guardrail {name}", "passed", f"answer without the address: {answer[:100]!r}")
    if status in (400, 403) and PII_ADDRESS not in str(body):
        return Check(f"guardrail {name}", "passed", f"blocked (HTTP {status})")
    return Check(
        f"guardrail {name}", "failed", f"HTTP {status}; the address came back: {(answer or str(body))[:120]!r}"
    )


def lex_round_trip(recognize: Callable[[str], str], text: str = "What can you do?") -> Check:
    """One RecognizeText turn through the bot's alias: its fulfillment Lambda calls the gateway."""
    try:
        reply = recognize(text)
    except Exception as error:
        return Check("lex round trip", "failed", f"{type(error).__name__}: {error}")
    return Check("lex round trip", "passed" if reply.strip() else "failed", repr(reply[:120]))


def run_checks(
    call: Post, config: GatewayConfig, *, recognize: Callable[[str], str] | None = None, lex_reason: str = ""
) -> list[Check]:
    """Every check in order; a failed health check stops there (nothing else can pass)."""
    checks = [health(call)]
    if checks[0].outcome == "failed":
        return checks
    checks += [
        embedding(call, group) if group in config.embedding_groups else chat(call, group)
        for group in config.model_groups
    ]
    if config.guardrails and config.chat_groups:
        checks += [guardrail(call, config.chat_groups[0], name) for name in config.guardrails]
    else:
        checks.append(Check("guardrail", "not checked", "the config defines no guardrail"))
    if recognize is not None:
        checks.append(lex_round_trip(recognize))
    else:
        checks.append(Check("lex round trip", "not checked", lex_reason or "no bot named (--lex BOT_ID/ALIAS_ID)"))
    return checks


def table(checks: Sequence[Check]) -> str:
    """The checks as an aligned table."""
    width = max(len(check.name) for check in checks)
    return "\n".join(f"{check.name:<{width}}  {check.outcome:<11}  {check.detail}" for check in checks)


def lex_recognizer(bot_id: str, alias_id: str, locale: str = "en_US") -> Callable[[str], str]:
    """RecognizeText through boto3 (imported here: only a deploy with a chatbot needs it)."""
    client = importlib.import_module("boto3").client("lexv2-runtime")  # boto3 carries no types

    def recognize(text: str) -> str:
        reply = client.recognize_text(botId=bot_id, botAliasId=alias_id, localeId=locale, sessionId="verify", text=text)
        return " ".join(str(message.get("content", "")) for message in reply.get("messages", []))

    return recognize


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bedrockgate_pipeline.verify --endpoint URL --api-key-env VAR --config PATH [--lex BOT/ALIAS]``."""
    import argparse  # noqa: PLC0415
    import os  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="verify", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", required=True, help="the gateway's base URL (no /v1)")
    parser.add_argument("--api-key-env", required=True, help="the variable holding a key the gateway accepts")
    parser.add_argument("--config", type=Path, required=True, help="the gateway config that was deployed")
    parser.add_argument("--lex", default=None, metavar="BOT_ID/ALIAS_ID", help="the chatbot, when it is enabled")
    parser.add_argument("--lex-reason", default="", help="why the Lex round trip is not checked (printed)")
    args = parser.parse_args(argv)
    key = os.environ.get(args.api_key_env)
    if not key:
        parser.error(f"${args.api_key_env} is empty: export the gateway key there (never pass it as an argument)")
    recognize = None
    if args.lex:
        bot, _, alias = str(args.lex).partition("/")
        if not bot or not alias:
            parser.error(f"--lex {args.lex!r}: expected BOT_ID/ALIAS_ID")
        recognize = lex_recognizer(bot, alias)
    try:
        checks = run_checks(http(args.endpoint, key), read_config(args.config), recognize=recognize,
                            lex_reason=args.lex_reason)  # fmt: skip
    except VerifyError as error:  # the endpoint or the config: one line that names it, not a traceback
        print(f"verify: {error}", file=sys.stderr)
        return 2
    print(table(checks))
    failed = [check.name for check in checks if check.outcome == "failed"]
    if failed:
        print(f"verify: FAILED: {', '.join(failed)}")
        return 1
    print(f"verify: passed ({sum(c.outcome == 'passed' for c in checks)} checks; "
          f"{sum(c.outcome == 'not checked' for c in checks)} not checked)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
