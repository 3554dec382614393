"""Charts as SVG from matplotlib, inlined into the pages: no JavaScript, no network, readable from
file:// and in any browser; text stays text (searchable, selectable, scalable)."""
from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from importlib import metadata
from pathlib import Path

from factledger.report import explain

# matplotlib is imported when the first chart is drawn: importing it costs seconds, and every
# `factledger run` loads this module (a run that publishes nothing draws no chart).
_plt = None


def _pyplot():
    global _plt
    if _plt is None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        _plt = plt
    return _plt

MAX_ROWS = 15


class Cache:
    """Charts an earlier report drew (in its folder's FILE), by what they show, and the charts this
    report draws or takes from it: a chart whose rows, styles and salt are unchanged is not drawn
    again (nor matplotlib imported). Only for a report of the same code (the caller's concern).

    `prefetch` draws the charts not found, in a thread of their own, while the caller goes on (with
    SQL, which lets go of the GIL); `stacked_bars` then waits for its chart."""

    FILE = ".charts.json"

    def __init__(self, folder: Path | None = None) -> None:
        self.earlier: dict[str, str] = {}
        if folder is not None:
            try:
                self.earlier = json.loads((Path(folder) / self.FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.earlier = {}
        self.drawn: dict[str, str] = {}
        self._pending: dict[str, threading.Thread] = {}
        self._failed: dict[str, BaseException] = {}

    def dumps(self) -> str:
        return json.dumps(self.drawn, sort_keys=True)

    def prefetch(self, charts: list[tuple[str, list, list[explain.VerdictStyle], str]]) -> None:
        """Start drawing, in one thread, those of `charts` ((title, rows, styles, salt), as
        stacked_bars takes them) that neither an earlier report nor this one has."""
        jobs = {}
        for title, rows, styles, salt in charts:
            rows = _capped(rows)
            key = _key(title, rows, styles, salt)
            if key not in self.earlier and key not in self.drawn and key not in self._pending:
                jobs[key] = (title, rows, styles, salt)
        if not jobs:
            return

        def draw() -> None:
            for key, job in jobs.items():
                try:
                    self.drawn[key] = _draw(*job)
                except BaseException as err:  # noqa: BLE001 - raised again where the chart is asked for
                    self._failed[key] = err

        thread = threading.Thread(target=draw, name="report-charts", daemon=True)
        self._pending.update(dict.fromkeys(jobs, thread))
        thread.start()

    def get(self, key: str) -> str | None:
        """The chart of `key` when an earlier report or this one has it (waiting for a prefetch).
        None: the caller draws it, after every prefetch is done (matplotlib draws in one thread at a time)."""
        thread = self._pending.pop(key, None)
        if thread is not None:
            thread.join()
            if key in self._failed:
                raise self._failed.pop(key)
        found = self.earlier.get(key) or self.drawn.get(key)
        if found is None:
            for other in set(self._pending.values()):
                other.join()
        return found


def _key(title: str, rows: list, styles: list[explain.VerdictStyle], salt: str) -> str:
    payload = [title, rows, [(s.verdict, s.colour, s.marker, s.label) for s in styles], salt, metadata.version("matplotlib")]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _capped(rows: list[tuple[str, dict[str, int]]]) -> list[tuple[str, dict[str, int]]]:
    """At most MAX_ROWS rows: the rest summed into one."""
    if len(rows) <= MAX_ROWS:
        return rows
    rest: dict[str, int] = {}
    for _, counts in rows[MAX_ROWS - 1:]:
        for k, v in counts.items():
            rest[k] = rest.get(k, 0) + v
    return rows[: MAX_ROWS - 1] + [(f"{len(rows) - MAX_ROWS + 1} others", rest)]


def stacked_bars(title: str, rows: list[tuple[str, dict[str, int]]], styles: list[explain.VerdictStyle], salt: str,
                 cache: Cache | None = None) -> str:
    """A horizontal stacked bar per row (label, {verdict: count}), one colour and hatch per verdict,
    as an inline <svg> string. More than MAX_ROWS rows: the rest are summed into one. `cache`: the
    same chart drawn before is taken from it."""
    rows = _capped(rows)
    if cache is None:
        return _draw(title, rows, styles, salt)
    key = _key(title, rows, styles, salt)
    svg = cache.drawn[key] = cache.get(key) or _draw(title, rows, styles, salt)
    return svg


def _draw(title: str, rows: list[tuple[str, dict[str, int]]], styles: list[explain.VerdictStyle], salt: str) -> str:
    used = [s for s in styles if any(c.get(s.verdict) for _, c in rows)]
    labels = [_short(label) for label, _ in rows][::-1]
    counts = [c for _, c in rows][::-1]
    hatches = ["", "//", "..", "xx", "\\\\", "++", "oo", "--"]
    plt = _pyplot()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 9,
                         "font.family": "sans-serif", "axes.spines.top": False, "axes.spines.right": False}):
        fig, ax = plt.subplots(figsize=(8.6, 0.9 + 0.3 * max(len(rows), 1)))
        left = [0] * len(rows)
        for i, s in enumerate(used):
            widths = [c.get(s.verdict, 0) for c in counts]
            ax.barh(labels, widths, left=left, color=s.colour, edgecolor="white", hatch=hatches[i % len(hatches)],
                    label=f"{s.marker} {s.label}")
            left = [a + b for a, b in zip(left, widths)]
        ax.set_xlabel("claims")
        ax.set_title(title, loc="left", fontsize=10, pad=22)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if used:
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(len(used), 5), frameon=False, fontsize=8,
                      borderaxespad=0.2, handlelength=1.6, columnspacing=1.2)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
        plt.close(fig)
    return _inline(buf.getvalue(), title)


def _short(label: str, n: int = 52) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _inline(svg: str, title: str) -> str:
    """The <svg> element only (no XML prolog or DOCTYPE), scalable, with an accessible name."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return svg.replace("<svg", f'<svg role="img" aria-label="{escaped}" class="chart"', 1)
