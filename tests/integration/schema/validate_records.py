#!/usr/bin/python3
"""Validate every line of an NDJSON file against a JSON Schema.

Usage: validate_records.py SCHEMA NDJSON
Prints one message per invalid line ("line N: path: message") and exits 1 if any line is invalid,
2 on usage errors or when python3-jsonschema is missing (scripts/deps installs it). Blank lines are
skipped; an empty file is an error, so a test that wrote nothing cannot pass.
"""
import json
import sys


def main(argv):
    if len(argv) != 3:
        print("usage: validate_records.py SCHEMA NDJSON", file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("validate_records.py: python3-jsonschema is not installed for " + sys.executable +
              " (run scripts/deps, or apt-get install python3-jsonschema)", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    failures = 0
    records = 0
    with open(argv[2], encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            records += 1
            try:
                document = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"line {number}: invalid JSON: {e}")
                failures += 1
                continue
            for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
                path = ".".join(str(p) for p in error.absolute_path) or "(record)"
                print(f"line {number}: {path}: {error.message}")
                failures += 1
    if records == 0:
        print("no records in " + argv[2])
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
