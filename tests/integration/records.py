#!/usr/bin/python3
"""Assertions on icapkit NDJSON records, for the integration scripts.

Usage:
  records.py LOG [--count N] [--files A,B,...]
             [--file NAME | --index I | --replay I | --origin TEXT | --each]
             [CHECK...]
  records.py LOG --get PATH [--file NAME | --index I]

Selecting: --file NAME picks the one record whose file.path is NAME or ends in /NAME (an error
when none or several match); --index I the I-th record (0-based); --replay I the one record
whose replay.index is I (icapkit replay writes records in completion order); --origin TEXT the
one record whose replay.origin is TEXT ("uploads.har entry 2"); --each applies the checks to
every record. --count N: the log holds exactly N records. --files A,B: the records' file.path
base names are exactly these, each once (order free).

CHECK is PATH=VALUE (equal; VALUE compares with a string as is, with anything else as its JSON
text, so 403 and true work), PATH~VALUE (a list contains VALUE, or a string contains it), PATH!~VALUE (the opposite),
PATH? (present) or PATH! (absent). PATH is dotted; numbers index lists (-1: the last element):
icap_log.request_logs.0.opswat_log.threat_id.

Prints one line per failed check naming the log, the record and what differed; exits 1 if any.
"""
import json
import os
import sys

MISSING = object()


def lookup(document, path):
    value = document
    for part in path.split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)  # -1: the last element
            if index >= len(value) or index < -len(value):
                return MISSING
            value = value[index]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def text(value):
    if value is MISSING:
        return "absent"
    return value if isinstance(value, str) else json.dumps(value)


def check(record, spec):
    """Returns None when the check holds, else a message."""
    if "!~" in spec:
        path, unwanted = spec.split("!~", 1)
        value = lookup(record, path)
        values = [text(v) for v in value] if isinstance(value, list) else [text(value)]
        if value is not MISSING and any(unwanted in v for v in values):
            return f"{path} is {json.dumps(text(value))}, want it without {json.dumps(unwanted)}"
        return None
    for op in ("=", "~"):
        if op in spec:
            path, want = spec.split(op, 1)
            value = lookup(record, path)
            if op == "=":
                if value is MISSING or text(value) != want:
                    return f"{path} is {json.dumps(text(value))}, want {json.dumps(want)}"
            else:
                if isinstance(value, list):
                    if want not in [text(v) for v in value]:
                        return f"{path} is {json.dumps(value)}, want it to contain {json.dumps(want)}"
                elif value is MISSING or want not in text(value):
                    return f"{path} is {json.dumps(text(value))}, want it to contain {json.dumps(want)}"
            return None
    if spec.endswith("?"):
        return f"{spec[:-1]} is absent" if lookup(record, spec[:-1]) is MISSING else None
    if spec.endswith("!"):
        value = lookup(record, spec[:-1])
        return None if value is MISSING else f"{spec[:-1]} is {json.dumps(text(value))}, want it absent"
    raise SystemExit(f"records.py: bad check {spec!r}")


def base_name(record):
    path = lookup(record, "file.path")
    return os.path.basename(path) if isinstance(path, str) else None


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    log = argv[1]
    args = argv[2:]
    name = os.path.basename(log)
    try:
        with open(log, encoding="utf-8") as f:
            records = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        print(f"{name}: cannot read records: {e}")
        return 1

    problems = [] if records else [f"{name}: no records (icapkit wrote nothing)"]
    selected = None
    label = "record"
    get = None
    checks = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--count":
            want = int(args[i + 1])
            if len(records) != want:
                problems.append(f"{name}: {len(records)} records, want {want} (one per scanned file)")
            i += 2
        elif arg == "--files":
            want = sorted(args[i + 1].split(","))
            have = sorted(str(base_name(r)) for r in records)
            if have != want:
                problems.append(f"{name}: records are for files {have}, want each of {want} once")
            i += 2
        elif arg == "--file":
            wanted = args[i + 1]
            matches = [r for r in records
                       if isinstance(lookup(r, "file.path"), str)
                       and (lookup(r, "file.path") == wanted
                            or lookup(r, "file.path").endswith("/" + wanted))]
            if len(matches) != 1:
                problems.append(f"{name}: {len(matches)} records for file {wanted}, want 1 "
                                f"(file.path values: {[lookup(r, 'file.path') for r in records]})")
                selected = []
            else:
                selected = matches
            label = f"record for {wanted}"
            i += 2
        elif arg == "--index":
            index = int(args[i + 1])
            selected = records[index:index + 1]
            if not selected:
                problems.append(f"{name}: no record #{index} ({len(records)} records)")
            label = f"record #{index}"
            i += 2
        elif arg == "--replay":
            index = int(args[i + 1])
            selected = [r for r in records if lookup(r, "replay.index") == index]
            if len(selected) != 1:
                problems.append(f"{name}: {len(selected)} records with replay.index {index}, want 1")
                selected = []
            label = f"record of replayed request #{index}"
            i += 2
        elif arg == "--origin":
            wanted = args[i + 1]
            selected = [r for r in records if lookup(r, "replay.origin") == wanted]
            if len(selected) != 1:
                problems.append(f"{name}: {len(selected)} records with replay.origin {wanted!r}, "
                                f"want 1")
                selected = []
            label = f"record of {wanted}"
            i += 2
        elif arg == "--each":
            selected = records
            label = "every record"
            i += 1
        elif arg == "--get":
            get = args[i + 1]
            i += 2
        else:
            checks.append(arg)
            i += 1

    if selected is None:
        selected = records[:1] if (checks or get) else []
        label = "record #0"
    if get is not None:
        if len(selected) != 1:
            print("\n".join(problems) or f"{name}: no record selected")
            return 1
        value = lookup(selected[0], get)
        print(text(value))
        return 0 if value is not MISSING else 1
    for record in selected:
        which = label
        if label == "every record":
            which = f"record for {lookup(record, 'file.path')}"
        for spec in checks:
            message = check(record, spec)
            if message:
                problems.append(f"{name}, {which}: {message}")
    if problems:
        print("\n".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
