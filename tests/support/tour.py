"""The README's curl tour as steps: its ```bash blocks, cut after each `# -> ...` answer.

A step is the commands since the last answer shown, and the answer shown after them. An answer
that parses as JSON is a pattern: an object matches an object holding at least its keys (each
matching), a list matches a list of the same length, or a longer one when the pattern's list
ends in `...`, and the string "..." matches anything. Any other answer is text whose pieces
between `...` must appear in the output in order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
ANSWER = "# -> "
MORE = "\u2026more"  # what a list's trailing `...` becomes, so that the pattern parses


@dataclass
class Step:
    commands: str
    answer: str | None


def steps(readme: str) -> list[Step]:
    found: list[Step] = []
    for block in FENCE.findall(readme):
        commands: list[str] = []
        answer: list[str] | None = None
        for line in block.splitlines():
            if line.startswith(ANSWER):
                answer = [line.removeprefix(ANSWER)]
            elif answer is not None and line.startswith("#  "):
                answer.append(line.removeprefix("#"))
            else:
                if answer is not None:
                    found.append(Step("\n".join(commands), " ".join(answer)))
                    commands, answer = [], None
                commands.append(line)
        if answer is not None:
            found.append(Step("\n".join(commands), " ".join(answer)))
        elif any(line.strip() for line in commands):
            found.append(Step("\n".join(commands), None))
    return found


def pattern(answer: str) -> Any:
    """The answer as a JSON pattern, or None when it is text."""
    marked = re.sub(r",\s*\.\.\.\s*\]", f', "{MORE}"]', answer)
    try:
        return json.loads(marked)
    except json.JSONDecodeError:
        return None


def last_document(output: str) -> Any:
    """The last JSON document of `output` (curl prints answers with no newline between them)."""
    decoder, at, last = json.JSONDecoder(), 0, None
    text = output.strip()
    while at < len(text):
        last, at = decoder.raw_decode(text, at)
        while at < len(text) and text[at].isspace():
            at += 1
    return last


def matches(expected: Any, actual: Any) -> bool:
    if expected == "...":
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        more = bool(expected) and expected[-1] == MORE
        items = expected[:-1] if more else expected
        if not isinstance(actual, list) or len(actual) < len(items):
            return False
        return (more or len(actual) == len(items)) and all(map(matches, items, actual))
    return bool(expected == actual) and isinstance(expected, bool) == isinstance(actual, bool)


def shows(answer: str, output: str) -> bool:
    """Whether `output` holds the answer shown: a JSON pattern, or text pieces in order."""
    expected = pattern(answer)
    if expected is not None:
        try:
            return matches(expected, last_document(output))
        except json.JSONDecodeError:
            return False
    at = 0
    for piece in (part.strip() for part in answer.split("...")):
        at = output.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return True
