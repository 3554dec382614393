"""Which executor runs the steps of every job: in-process (the embedded default) or Celery.

`FACTLEDGER_EXECUTOR=celery` (set on the webserver, the daemon and run workers of a Postgres-backed
instance, see orchestration/dagster_postgres.yaml and docs/deployment.md) sends each step to a
Celery worker (`celery -A orchestration.celery_app worker -Q dagster`), with the broker and result
backend taken from `FACTLEDGER_CELERY_BROKER` / `FACTLEDGER_CELERY_BACKEND` (Postgres for both:
`sqla+postgresql+psycopg2://...` and `db+postgresql+psycopg2://...`; no Redis or RabbitMQ).
Unset or `in_process`: every step runs in the run's own process, as before.

Celery needs a persistent instance whose storage the workers share (Postgres): the worker reads
the run from it and writes the step's events to it.
"""
from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "FACTLEDGER_EXECUTOR"
BROKER_ENV = "FACTLEDGER_CELERY_BROKER"
BACKEND_ENV = "FACTLEDGER_CELERY_BACKEND"
CHOICES = ("in_process", "celery")


def chosen() -> str:
    value = (os.environ.get(EXECUTOR_ENV) or "in_process").strip().lower().replace("-", "_")
    if value not in CHOICES:
        raise ValueError(f"{EXECUTOR_ENV} must be one of {', '.join(CHOICES)}, not {value!r}")
    return value


def celery_app_args() -> dict:
    """The Celery app settings every party (the run's process and the workers) must agree on."""
    missing = [name for name in (BROKER_ENV, BACKEND_ENV) if not os.environ.get(name)]
    if missing:
        raise ValueError(f"{EXECUTOR_ENV}=celery needs {' and '.join(missing)} "
                         "(e.g. sqla+postgresql+psycopg2://user@host/celery and db+postgresql+psycopg2://user@host/celery)")
    return {"broker": os.environ[BROKER_ENV], "backend": os.environ[BACKEND_ENV]}


# The Celery settings the run's process and the workers share: workers take one task at a time and
# acknowledge it when done (a killed worker's step is redelivered). (kombu's SQLAlchemy transport
# hands every transport option to create_engine, so its 1 s polling interval can't be set here.)
CELERY_CONFIG = {"worker_prefetch_multiplier": 1, "task_acks_late": True, "broker_connection_retry_on_startup": True}


def celery():
    from dagster_celery import celery_executor

    celery_app_args()  # fail early, naming the missing setting
    return celery_executor.configured(
        {"broker": {"env": BROKER_ENV}, "backend": {"env": BACKEND_ENV}, "config_source": CELERY_CONFIG},
        name="celery",
    )


def default_executor() -> dg.ExecutorDefinition:
    # Lake writers are serialised by the "lake" pool anyway; a process per step (the default) only
    # adds 8-20 s of start-up to each of ~25 steps on a 2-core machine, so the embedded default runs
    # every step in-process: sensor, schedule, UI materialisations and `factledger run`.
    return celery() if chosen() == "celery" else dg.in_process_executor
