"""The messages a question becomes: a system prompt, and a user turn with the passage and the question.

The question is asked *with* its passage (reading comprehension, as SQuAD defines it), and the model
is told to answer with a span of the passage, because EM and F1 compare against spans. Both parts
are options; a template may use only ``{context}`` and ``{question}`` (write ``{{`` for a brace),
and is checked before the first request.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass

from bedrockgate.evals.dataset import Question
from bedrockgate.evals.exceptions import ConfigError

__all__ = ["DEFAULT_SYSTEM_PROMPT", "DEFAULT_USER_TEMPLATE", "PromptTemplate"]

DEFAULT_SYSTEM_PROMPT = (
    "You answer questions about a passage. Reply with the shortest span of the passage that answers "
    "the question, copied word for word: no sentence, no explanation, no punctuation at the end."
)
DEFAULT_USER_TEMPLATE = "Passage:\n{context}\n\nQuestion: {question}\nAnswer:"
_FIELDS = frozenset({"context", "question"})


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A system prompt (may be empty: then no system message is sent) and a user template.

    >>> from bedrockgate.evals.dataset import Question
    >>> question = Question("1", "t", "Paris is in France.", "Where is Paris?", ("France",), (12,), 0)
    >>> PromptTemplate("", "{question} ({context})").messages(question)
    [{'role': 'user', 'content': 'Where is Paris? (Paris is in France.)'}]
    """

    system: str = DEFAULT_SYSTEM_PROMPT
    user: str = DEFAULT_USER_TEMPLATE

    def __post_init__(self) -> None:
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(self.user) if name is not None}
        except ValueError as error:
            raise ConfigError(f"prompt template: {error} (write {{{{ and }}}} for literal braces)") from error
        unknown = fields - _FIELDS
        if unknown:
            raise ConfigError(
                f"prompt template: unknown placeholder(s) {', '.join(sorted(repr(f) for f in unknown))}; "
                "use {context} and {question}, and {{ }} for literal braces"
            )
        if "question" not in fields:
            raise ConfigError("prompt template: it never shows the question; add {question}")

    def messages(self, question: Question) -> list[dict[str, str]]:
        """The chat messages for one question."""
        user = self.user.format(context=question.context, question=question.question)
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return [*messages, {"role": "user", "content": user}]

    @property
    def digest(self) -> str:
        """Identifies the prompt in a checkpoint: answers to another prompt are not reused."""
        return hashlib.sha256(f"{self.system}\x00{self.user}".encode()).hexdigest()[:16]
