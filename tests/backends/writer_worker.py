"""One of several processes appending to the same lake table, one commit per row; prints a JSON
tally. Run as `python -m tests.backends.writer_worker LABEL COMMITS MODE`; the lake comes from the
environment (FACTLEDGER_CATALOG, FACTLEDGER_DATA_PATH, the S3 secret).

MODE `retry`: no writer lock, DuckLake's own retries off (`ducklake_max_retry_count = 0`), so every
commit conflict surfaces and `lake.transaction` retries it: the tally counts them.
MODE `lock`: each commit holds the lake's writer lock (what the pipeline does), DuckLake defaults.
MODE `plain`: DuckLake's defaults only (its own retries), no lock, no retry of ours: a commit that
fails is lost (the measurement behind "SQLite lost 4 of 100").
"""
from __future__ import annotations

import json
import sys
import time

from factledger import lake


def main(label: str, commits: int, mode: str) -> dict:
    tally = {"label": label, "mode": mode, "attempted": 0, "committed": 0, "conflicts_retried": 0, "failed": 0,
             "errors": []}
    config = lake.resolve()
    started = time.monotonic()

    def conflict(err):
        tally["conflicts_retried"] += 1

    with lake.connect(config, writer_lock=False) as con:
        if mode == "retry":
            con.execute("SET ducklake_max_retry_count = 0")
        for i in range(commits):
            tally["attempted"] += 1
            try:
                with (lake.writer_slot(config) if mode == "lock" else _nothing()):
                    lake.transaction(con, lambda c, i=i: c.execute("INSERT INTO commits VALUES (?, ?)", [label, i]),
                                     attempts=1 if mode == "plain" else 50, on_conflict=conflict)
                tally["committed"] += 1
            except Exception as err:  # noqa: BLE001 - counted and reported
                tally["failed"] += 1
                tally["errors"].append(str(err).splitlines()[0][:200])
    tally["seconds"] = round(time.monotonic() - started, 2)
    return tally


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
