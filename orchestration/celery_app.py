"""The Celery app the workers run: `celery -A orchestration.celery_app worker -Q dagster`.

Same broker and result backend as the executor (FACTLEDGER_CELERY_BROKER / FACTLEDGER_CELERY_BACKEND,
see orchestration/executors.py), and dagster-celery's tasks: each task executes one step of a run,
loading the job from this code location and reading and writing the run's events in the
instance storage ($DAGSTER_HOME/dagster.yaml: Postgres).
"""
from dagster_celery.config import DEFAULT_CONFIG
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from orchestration.executors import CELERY_CONFIG, celery_app_args

app = make_app({**celery_app_args(), "config_source": {**DEFAULT_CONFIG, **CELERY_CONFIG}})

execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
