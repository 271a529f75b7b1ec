"""The engine's output on the benchmark cohort, byte for byte, against a committed digest.

Any optimisation must leave every byte of every assessment as it was. A change of the output
that is meant (a clinical rule, a knowledge update) changes the digest: run
``.venv/bin/python tests/golden/test_engine_digest.py`` to print the new one, review the
change as a clinical change, and commit the new digest with it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from alscare import KnowledgeBase, assess, load_knowledge, parse_record
from alscare.cohort.synth import AS_OF, cohort_records_v2

DIGEST_FILE = Path(__file__).with_name("engine_digest.json")
RECORDS = 400


def engine_digest(kb: KnowledgeBase) -> dict[str, object]:
    """The SHA-256 of the assessments of the first ``RECORDS`` cohort records, one line each."""
    digest = hashlib.sha256()
    for data in cohort_records_v2(RECORDS):
        line = assess(parse_record(data), as_of=AS_OF, kb=kb).to_json_line()
        digest.update(line.encode("utf-8") + b"\n")
    return {"records": RECORDS, "as_of": str(AS_OF), "knowledge_version": kb.version,
            "sha256": digest.hexdigest()}  # fmt: skip


def test_engine_output_matches_the_committed_digest(kb):
    committed = json.loads(DIGEST_FILE.read_text(encoding="utf-8"))
    assert engine_digest(kb) == committed, (
        "the engine's output changed; if that is meant, print the new digest with "
        "`.venv/bin/python tests/golden/test_engine_digest.py` and commit it with the change"
    )


if __name__ == "__main__":
    sys.stdout.write(json.dumps(engine_digest(load_knowledge()), indent=2) + "\n")
