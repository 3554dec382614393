"""The record of an input the pipeline refused."""
from __future__ import annotations

import re
from dataclasses import dataclass

# A reason is one line of plain text: it is printed in the run summary and shown in the UI, and
# it may quote the refused file. Control characters are escaped and the length capped, so a
# hostile file cannot fill a terminal, forge extra summary lines or send escape sequences.
MAX_REASON = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_reason(reason: str) -> str:
    text = _CONTROL.sub(lambda m: {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(m.group(), f"\\x{ord(m.group()):02x}"), str(reason))
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


@dataclass(frozen=True)
class Rejection:
    stage: str
    file: str
    line: int | None
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", clean_reason(self.reason))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.reason}"
