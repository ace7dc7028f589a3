"""The SQuAD evaluation suite and release gate for any OpenAI-compatible endpoint.

``bedrockgate-evals run`` asks SQuAD v1.1 questions (with their passages) through the OpenAI chat API,
scores the answers exactly as the official SQuAD v1.1 script does, measures semantic similarity,
latency, tokens, cost and errors, writes ``results.json``, ``report.html`` and ``summary.md``, and
exits 0, 1 or 2 so that a pipeline can gate a release on it. ``score`` is the official script;
``compare`` tests whether a candidate run is a regression of a baseline; ``gate`` does so against
the baseline and tolerances an environment's gates file names.

Where things are: :mod:`~bedrockgate.evals.squad` is the official SQuAD v1.1 definition (answer
normalisation, EM and F1 of one answer, the dataset totals); :mod:`~bedrockgate.evals.metrics`
sums a run up (aggregates, latency percentiles, question types); :mod:`~bedrockgate.evals.results`
is ``results.json`` as typed records, written and read there only; :mod:`~bedrockgate.evals.compare`
and :mod:`~bedrockgate.evals.verdict` judge two runs (their paired tests are in ``_stats``).
Modules whose names start with ``_`` are internal.

The scoring is usable on its own::

    >>> from bedrockgate.evals import exact_match_score, f1_score, normalize_answer
    >>> normalize_answer("The Denver Broncos.")
    'denver broncos'
    >>> exact_match_score("Denver Broncos", "the Denver Broncos"), f1_score("Broncos", "Denver Broncos")
    (True, 0.6666666666666666)

and so is the sample shipped for machines without network::

    >>> from bedrockgate.evals import load_source, select
    >>> dataset = load_source("sample")
    >>> dataset.info.license, len(select(dataset.questions, samples=10, seed=0))
    ('CC BY-SA 4.0', 10)
"""

from bedrockgate.evals._examples import ExampleResult, score_example
from bedrockgate.evals._score_files import score_files
from bedrockgate.evals.compare import Comparison, compare_results
from bedrockgate.evals.dataset import DatasetInfo, Question, SquadDataset, parse_squad, squad_document
from bedrockgate.evals.exceptions import (
    CheckpointError,
    ConfigError,
    DatasetError,
    EndpointError,
    EvalsError,
    GateRefusedError,
    GatesFileError,
    HubUnavailableError,
    PhoenixError,
    ResultsError,
    RunInterruptedError,
)
from bedrockgate.evals.gatefile import GatesFile, load_gates
from bedrockgate.evals.gates import GATES, GateResult, check_gates
from bedrockgate.evals.metrics import Aggregate, aggregate
from bedrockgate.evals.postprocess import Pipeline
from bedrockgate.evals.prompting import PromptTemplate
from bedrockgate.evals.results import Results, load_results
from bedrockgate.evals.retry import RetryPolicy
from bedrockgate.evals.runner import RunSettings, run_questions
from bedrockgate.evals.sampling import select
from bedrockgate.evals.sources import load_source
from bedrockgate.evals.squad import exact_match_score, f1_score, normalize_answer
from bedrockgate.evals.verdict import Verdict, check_comparable, judge

__all__ = [
    "GATES",
    "Aggregate",
    "CheckpointError",
    "Comparison",
    "ConfigError",
    "DatasetError",
    "DatasetInfo",
    "EndpointError",
    "EvalsError",
    "ExampleResult",
    "GateRefusedError",
    "GateResult",
    "GatesFile",
    "GatesFileError",
    "HubUnavailableError",
    "PhoenixError",
    "Pipeline",
    "PromptTemplate",
    "Question",
    "Results",
    "ResultsError",
    "RetryPolicy",
    "RunInterruptedError",
    "RunSettings",
    "SquadDataset",
    "Verdict",
    "aggregate",
    "check_comparable",
    "check_gates",
    "compare_results",
    "exact_match_score",
    "f1_score",
    "judge",
    "load_gates",
    "load_results",
    "load_source",
    "normalize_answer",
    "parse_squad",
    "run_questions",
    "score_example",
    "score_files",
    "select",
    "squad_document",
]
