"""How the SQuAD sample shipped in this package was made from the official dev set; a test keeps them equal.

Regenerate it (deterministic: the same input gives the same bytes)::

    python -m bedrockgate.evals._sample dev-v1.1.json.gz

Whole paragraphs are chosen, ranked by ``sha256(seed, title, paragraph number)``, until the sample
holds at least ``MIN_QUESTIONS`` questions: whole paragraphs keep every question of a passage,
and a small number of passages keeps the file small.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

from bedrockgate.evals.dataset import ATTRIBUTION, LICENSE
from bedrockgate.evals.sampling import rank_key

SEED = 2016
MIN_QUESTIONS = 300
TARGET = Path(__file__).resolve().parent / "data" / "squad-v1.1-dev-sample.json.gz"


def build_sample(dev: dict[str, Any]) -> dict[str, Any]:
    """The sample document: chosen paragraphs in dev-set order, with the licence and attribution."""
    paragraphs = [
        (rank_key(SEED, f"{article['title']}\x00{number}"), a, number)
        for a, article in enumerate(dev["data"])
        for number in range(len(article["paragraphs"]))
    ]
    chosen: set[tuple[int, int]] = set()
    questions = 0
    for _, a, number in sorted(paragraphs):
        chosen.add((a, number))
        questions += len(dev["data"][a]["paragraphs"][number]["qas"])
        if questions >= MIN_QUESTIONS:
            break
    data = []
    for a, article in enumerate(dev["data"]):
        kept = [p for number, p in enumerate(article["paragraphs"]) if (a, number) in chosen]
        if kept:
            data.append({"title": article["title"], "paragraphs": kept})
    return {
        "version": "1.1",
        "source": f"SQuAD v1.1 dev set, {questions} questions in {len(chosen)} paragraphs (seed {SEED})",
        "license": LICENSE,
        "attribution": ATTRIBUTION,
        "data": data,
    }


def encode(document: dict[str, Any]) -> bytes:
    """Gzip with no timestamp or file name, so the bytes depend only on the content."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as file:
        file.write(json.dumps(document, ensure_ascii=False, indent=None, separators=(",", ":")).encode("utf-8"))
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    """Regenerate the shipped sample from the dev set at ``argv[0]``."""
    dev = json.loads(gzip.decompress(Path(argv[0]).read_bytes()))
    TARGET.write_bytes(encode(build_sample(dev)))
    sys.stdout.write(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
