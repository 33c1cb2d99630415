#!/usr/bin/env python3
"""Writes libFuzzer seeds for one fuzz target from the parser vectors (testdata/vectors/*.vec).

Every seed starts with the two control bytes the targets read first (leniency bits, split stride),
set to 0 (strict, one piece), followed by the vector's wire bytes.
Usage: make_seeds.py TARGET VECTORS_DIR CORPUS_DIR
"""
import hashlib
import pathlib
import re
import sys

MODES = {
    "fuzz_icap_request": {"icap-request"},
    "fuzz_icap_response": {"icap-response"},
    "fuzz_chunked": {"chunked"},
    "fuzz_http_head": {"http-request-head", "http-response-head"},
    "fuzz_roundtrip": {"icap-request", "icap-response"},
    # The capture readers read whole files without control bytes: their seeds are only the files
    # in tests/fuzz/seeds/<target>/, which scripts/test copies in.
    "fuzz_har": set(),
    "fuzz_raw_http": set(),
    "fuzz_pcap": set(),
}


def unescape(line: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            n = line[i + 1]
            if n in "rnt\\":
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[n]
                i += 2
                continue
            if n == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", line[i + 2:i + 4]):
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
                continue
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def wire_bytes(text: str):
    mode, lines, in_input = None, [], False
    for line in text.split("\n"):
        m = re.match(r"#\s*mode:\s*(\S+)", line)
        if m and not in_input:
            mode = m.group(1)
            continue
        if line.startswith("--- "):
            if line.strip() == "--- input":
                in_input = True
                continue
            if in_input:
                break
        elif in_input:
            lines.append(line)
    data = bytearray()
    for line in lines:
        if line.endswith("\\") and not line.endswith("\\\\"):
            data += unescape(line[:-1])
        else:
            data += unescape(line) + b"\r\n"
    return mode, bytes(data)


def main() -> int:
    target, vectors, corpus = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    wanted = MODES.get(target)
    if wanted is None:
        print(f"make_seeds.py: unknown fuzz target {target}", file=sys.stderr)
        return 2
    corpus.mkdir(parents=True, exist_ok=True)
    count = 0
    for vec in sorted(vectors.glob("*.vec")):
        mode, data = wire_bytes(vec.read_text(encoding="utf-8"))
        if mode in wanted:
            seed = b"\x00\x00" + data
            (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
            count += 1
    print(f"{target}: {count} seeds from {vectors}")
    # A target that takes vectors but got none means the vectors went missing.
    return 0 if count > 0 or not wanted else 1


if __name__ == "__main__":
    sys.exit(main())
