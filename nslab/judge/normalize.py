"""Strips what differs between runs for no reason, keeps what matters.

Gone: PIDs, container ids, digests, timestamps, clock times, durations.
Kept: users and uids, commands, exit statuses, error lines.
"""
from __future__ import annotations

import re

_RULES = [
    (re.compile(r"sha256:[0-9a-f]{12,64}"), "sha256:<digest>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"\b\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\b"), "<time>"),
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d+ "), "<date> "),
    (re.compile(r"\b\d{1,2}:\d\d(:\d\d)?\b"), "<clock>"),
    (re.compile(r"\b\d+(\.\d+)?(ns|µs|us|ms|s)\b"), "<duration>"),
    (re.compile(r"\b(127\.0\.0\.1|localhost):(?!5000\b)\d{4,5}\b"), r"\1:<port>"),
]
_ERROR_WORDS = re.compile(r"error|denied|refused|incompatible|failed|not permitted|unexpected", re.I)


def normalize_line(line: str) -> str:
    for pattern, replacement in _RULES:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


def error_line(output: str) -> str | None:
    """The first line that says what went wrong, normalized."""
    for line in output.splitlines():
        if _ERROR_WORDS.search(line):
            return normalize_line(line)[:240]
    return None

