"""The instance template (orchestration/dagster.yaml) serialises lake writers through pool "lake"."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import yaml
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.monitoring import concurrency as slot_monitor
from dagster._daemon.monitoring.run_monitoring import check_run_timeout

from factledger.paths import PROJECT_ROOT
from orchestration.definitions import defs

TEMPLATE = PROJECT_ROOT / "orchestration" / "dagster.yaml"


def template() -> dict:
    return yaml.safe_load(TEMPLATE.read_text())


def test_template_is_a_valid_instance_config(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "dagster.yaml").write_text(TEMPLATE.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert config.run_queue_config.tag_concurrency_limits == [{"key": "factledger/lake", "value": "writer", "limit": 1}]
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


def test_a_lake_writer_waits_for_the_pool_slot(raw: Path, tmp_path: Path, monkeypatch) -> None:
    """Another run holds the only "lake" slot: the articles step does not start until it is freed."""
    monkeypatch.setenv("FACTLEDGER_RAW", str(raw))
    monkeypatch.setenv("FACTLEDGER_WAREHOUSE", str(tmp_path / "wh"))
    with dg.instance_for_test(overrides={"concurrency": template()["concurrency"]}) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("lake")  # what the first claim does
        assert storage.get_concurrency_info("lake").slot_count == 1
        assert storage.claim_concurrency_slot("lake", "other-run", "other-writer").is_claimed

        outcome: dict = {}

        def run() -> None:
            outcome["result"] = defs.resolve_job_def("refresh").execute_in_process(
                instance=instance,
                asset_selection=[dg.AssetKey("articles")],
                raise_on_error=False,
            )

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(4)
        assert "result" not in outcome or outcome["result"].success, "the run failed"
        assert worker.is_alive(), "the writer ran while another run held the lake slot"
        freed_at = time.time()
        storage.free_concurrency_slots_for_run("other-run")
        worker.join(120)
        result = outcome["result"]
        assert result.success
        started = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_START)
        writer = [e for e in started if e.step_key == "articles"]
        assert writer and writer[0].timestamp >= freed_at


def test_a_killed_run_is_marked_failed_and_its_lake_slot_freed(monkeypatch) -> None:
    """What the daemon's run monitoring does, with the template's settings, to a run whose worker
    died holding the lake slot (the default launcher cannot see the worker is gone)."""
    settings = template()
    with dg.instance_for_test(overrides={k: settings[k] for k in ("concurrency", "run_monitoring")}) as instance:
        max_runtime = instance.run_monitoring_max_runtime_seconds
        run = create_run_for_test(instance, job_name="refresh", status=dg.DagsterRunStatus.NOT_STARTED)
        instance.handle_new_event(EventLogEntry(
            error_info=None, level=logging.DEBUG, user_message="", run_id=run.run_id, timestamp=time.time() - max_runtime - 60,
            dagster_event=DagsterEvent(DagsterEventType.RUN_START.value, job_name="refresh"),
        ))
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("lake")
        assert storage.claim_concurrency_slot("lake", run.run_id, "articles").is_claimed

        check_run_timeout(instance, instance.get_run_record_by_id(run.run_id), logging.getLogger(), max_runtime)
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE

        grace = instance.run_monitoring_settings["free_slots_after_run_end_seconds"]
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grace + 5)
        monkeypatch.setattr(slot_monitor, "get_current_datetime", lambda: later)
        list(slot_monitor.execute_concurrency_slots_iteration(SimpleNamespace(instance=instance), logging.getLogger()))
        assert run.run_id not in storage.get_concurrency_run_ids()
        assert storage.claim_concurrency_slot("lake", "next-run", "articles").is_claimed
