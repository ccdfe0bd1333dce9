"""`swapdeck models`: each extraction backend and mask network, and whether its model files
are here."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pipeline.extract.weights import model_status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="swapdeck models",
        description="List each extraction backend and mask network and whether its model "
                    "files are present. Looks at files only; nothing is downloaded.")
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    statuses = model_status()
    if args.json:
        json.dump({"schema": 1, "models": [
            {"backend": s.backend, "kind": s.kind, "present": s.present,
             "paths": [str(p) for p in s.paths], "note": s.note} for s in statuses]},
            sys.stdout, indent=2)
        print()
        return 0
    for status in statuses:
        mark = "present" if status.present else "MISSING"
        print(f"{status.backend:<9} {status.kind:<10} {mark:<8} {status.note}")
        for path in status.paths:
            print(f"{'':<29}{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
