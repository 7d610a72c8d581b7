"""Schemathesis over every operation with a larger budget than CI (tests/api/test_fuzz.py), on a
throw-away SQLite database holding the test rows and model; prints the 5xx found and all statuses.

    python -m bench.fuzz --examples 50
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tests.api.test_fuzz import fuzz, fuzz_schema


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=50, help="Generated requests per operation (max 500).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        errors, statuses = fuzz(fuzz_schema(Path(tmp)), min(args.examples, 500))
    report = {"examples_per_operation": args.examples, "server_errors": errors, "statuses": dict(statuses)}
    print(json.dumps(report, indent=2))  # noqa: T201 - a bench script's report


if __name__ == "__main__":
    main()
