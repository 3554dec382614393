"""Progress lines for long steps: how far, how fast, how long is left.

A step that walks many items (files hashed, articles parsed, claims extracted, pages written)
makes a `Progress` and calls `advance` as it goes; every `every` seconds, and once at the end, the
`log` it was given gets a line such as

    articles: hashing 40,000/100,000 files, 8,210/s, about 7 s left

Steps shorter than `every` print nothing: small runs stay quiet. `log` is any callable taking a
string (a Dagster logger's `info`, `print`); None turns progress off.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

EVERY = 10.0  # seconds between two lines of one step


def eta_line(what: str, done: int, total: int, seconds: float, unit: str) -> str:
    """`what: done/total unit, rate/s, about N s left` (or `... in N s` when done)."""
    rate = done / seconds if seconds > 0 else 0.0
    head = f"{what} {done:,}/{total:,} {unit}, {rate:,.0f}/s"
    if done >= total:
        return f"{head}, done in {seconds:,.1f} s"
    left = (total - done) / rate if rate else float("nan")
    return f"{head}, about {left:,.0f} s left" if rate else f"{head}, time left unknown"


class Progress:
    def __init__(self, what: str, total: int, log: Callable[[str], None] | None, *, unit: str = "items",
                 every: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.log, self.unit, self.clock = what, total, log, unit, clock
        self.every = EVERY if every is None else every
        self.done = 0
        self.started = self.last = clock()
        self.reported = False

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.log is None:
            return
        now = self.clock()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            self.reported = True
            self.log(eta_line(self.what, self.done, self.total, now - self.started, self.unit))

    def finish(self) -> None:
        """The closing line, if any line was printed (a step that took long enough to report)."""
        if self.log is not None and self.reported:
            self.log(eta_line(self.what, self.done, self.total, self.clock() - self.started, self.unit))

    def over(self, items: Iterable[T]) -> Iterator[T]:
        """Each of `items`, advancing by one after each; the closing line at the end."""
        for item in items:
            yield item
            self.advance()
        self.finish()
