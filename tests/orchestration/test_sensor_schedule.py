"""The raw-files sensor and the daily schedule, evaluated with Dagster's test utilities."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from factledger import watch
from orchestration.definitions import defs
from orchestration.resources import RawFilesResource
from orchestration.schedules import daily_refresh
from orchestration.sensors import raw_files_sensor


def tick(instance: dg.DagsterInstance, raw: Path, cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    """Evaluate the sensor once, as the daemon would, and return its run requests and new cursor."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"raw": RawFilesResource(raw_dir=str(raw))})
    data = raw_files_sensor.evaluate_tick(context)
    return list(data.run_requests or []), data.cursor


def add_article(raw: Path, name: str = "900_new.md") -> Path:
    path = raw / "articles" / name
    path.write_text("---\npublished: 2024-10-01\ncites: [ice-letter-2024-09-25]\n---\nA new article about 13,099 figures.\n")
    return path


def test_sensor_and_schedule_are_registered() -> None:
    assert defs.resolve_sensor_def("raw_files_sensor").job_name == "refresh"
    assert defs.resolve_schedule_def("daily_refresh").job_name == "refresh"
    assert raw_files_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_first_tick_requests_the_initial_load_then_nothing_without_change(raw: Path) -> None:
    with dg.instance_for_test() as instance:
        requests, cursor = tick(instance, raw, None)
        assert len(requests) == 1 and requests[0].run_key.startswith("raw-00000001-")
        for _ in range(3):
            requests, cursor = tick(instance, raw, cursor)
            assert requests == []


def test_one_run_request_per_change_with_a_stable_key(raw: Path) -> None:
    with dg.instance_for_test() as instance:
        _, cursor = tick(instance, raw, None)
        added = add_article(raw)
        requests, after_add = tick(instance, raw, cursor)
        assert len(requests) == 1
        request = requests[0]
        assert request.tags["factledger/changes"] == "1 added, 0 changed, 0 removed"
        assert request.tags["factledger/changed_paths"] == "articles/900_new.md"
        # The writer tag is the job's own: UI launches carry it too.
        assert defs.resolve_job_def("refresh").tags["factledger/lake"] == "writer"
        dg.validate_run_config(defs.resolve_job_def("refresh"), request.run_config)
        # The same tick evaluated again from the same cursor (e.g. the daemon died before storing
        # the cursor) asks for the same run key, which Dagster launches only once.
        again, _ = tick(instance, raw, cursor)
        assert [r.run_key for r in again] == [request.run_key]

        assert tick(instance, raw, after_add)[0] == []
        added.write_text(added.read_text() + "\nA correction.\n")
        changed, after_change = tick(instance, raw, after_add)
        assert len(changed) == 1 and changed[0].tags["factledger/changes"] == "0 added, 1 changed, 0 removed"
        added.unlink()
        removed, _ = tick(instance, raw, after_change)
        assert len(removed) == 1 and removed[0].tags["factledger/changes"] == "0 added, 0 changed, 1 removed"
        keys = {request.run_key, changed[0].run_key, removed[0].run_key}
        assert len(keys) == 3


def test_sources_changes_are_noticed_too(raw: Path) -> None:
    with dg.instance_for_test() as instance:
        _, cursor = tick(instance, raw, None)
        csv = next((raw / "sources").rglob("figures.csv"))
        csv.write_text(csv.read_text() + "\n")
        requests, _ = tick(instance, raw, cursor)
        assert len(requests) == 1 and "figures.csv" in requests[0].tags["factledger/changed_paths"]


QUEUED = {"run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}}


def daemon_tick(home: Path, when: dt.datetime) -> list[dg.DagsterRun]:
    """One iteration of the sensor daemon's own loop against the instance in `home` (opened afresh,
    as after a restart), at time `when`. Runs are queued, not launched. Returns all runs so far."""
    import logging

    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget, create_test_daemon_workspace_context, freeze_time
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._daemon.sensor import execute_sensor_iteration

    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="orchestration.definitions"), location_name="factledger")
    with dg.instance_for_test(temp_dir=str(home), overrides=QUEUED) as instance, freeze_time(when):
        with create_test_daemon_workspace_context(InProcessTestWorkspaceLoadTarget(origin), instance) as workspace:
            list(execute_sensor_iteration(workspace, logging.getLogger("test"), None, None))
        return list(reversed(instance.get_runs()))


def test_cursor_survives_a_restart(raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the daemon's own sensor loop and a persistent instance reopened for every tick: the
    cursor stored in the instance after a tick is the one the next process starts from, so changes
    made while the daemon was down run once and nothing already seen runs again."""
    monkeypatch.setenv("FACTLEDGER_RAW", str(raw))
    home = tmp_path / "dagster_home"
    home.mkdir()
    start = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=raw_files_sensor.minimum_interval_seconds + 1)

    initial = f"{len(watch.scan(raw))} added, 0 changed, 0 removed"
    runs = daemon_tick(home, start)  # first start: the initial load
    assert [r.tags["factledger/changes"] for r in runs] == [initial]
    assert runs[0].job_name == "refresh" and runs[0].status == dg.DagsterRunStatus.QUEUED

    assert len(daemon_tick(home, start + step)) == 1  # restarted, nothing changed: no run
    add_article(raw)  # dropped while the daemon is down
    runs = daemon_tick(home, start + 2 * step)
    assert [r.tags["factledger/changes"] for r in runs] == [initial, "1 added, 0 changed, 0 removed"]
    assert runs[1].tags["dagster/run_key"].startswith("raw-00000002-")
    assert len(daemon_tick(home, start + 3 * step)) == 2


def test_daily_schedule_requests_a_refresh_run_per_day() -> None:
    with dg.instance_for_test() as instance:
        when = dt.datetime(2026, 11, 3, 6, 0, tzinfo=dt.UTC)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        data = daily_refresh.evaluate_tick(context)
        assert len(data.run_requests) == 1
        request = data.run_requests[0]
        assert request.run_key == "daily-2026-11-03"
        assert request.tags["factledger/trigger"] == "schedule"
        assert defs.resolve_job_def("refresh").tags["factledger/lake"] == "writer"
        assert daily_refresh.job_name == "refresh" and daily_refresh.cron_schedule == "0 6 * * *"
        # and the request is a valid run of the real job
        dg.validate_run_config(defs.resolve_job_def("refresh"), request.run_config)
