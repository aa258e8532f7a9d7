"""Jobs: process executions stored in SQLite with their inputs and run by a thread pool off the
event loop (the numba kernels release the GIL).

On start, ``recover`` takes up what a previous run left: accepted jobs are queued again; a job that
was running when the service stopped is rerun once, and marked failed with the reason when it was
already interrupted before (so a job that kills the service cannot loop forever). A dismissed job
is not started, or, when it was running, keeps its dismissed state when its run ends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stadstwin.errors import StadstwinError
from stadstwin.service.catalog import SceneCatalog
from stadstwin.service.processes import JobContext, Process
from stadstwin.service.store import Job, Principal, Store

log = logging.getLogger(__name__)

#: How often a job is started in total when the service keeps stopping while it runs.
MAX_ATTEMPTS = 2


class JobRunner:
    """Queues jobs on a worker pool and records their state, progress and results in the store."""

    def __init__(self, store: Store, catalog: SceneCatalog, processes: Mapping[str, Process],
                 files: Path, workers: int = 2) -> None:
        self.store = store
        self.catalog = catalog
        self.processes = processes
        self.files = files
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stadstwin-job")

    def folder(self, job_id: str) -> Path:
        """Where a job writes its files."""
        return self.files / "jobs" / job_id

    def submit(self, process: str, inputs: dict[str, Any], who: Principal) -> Job:
        """Store a job for validated ``inputs`` and queue it."""
        job = self.store.create_job(process, inputs, who)
        self._pool.submit(self._run, job.id)
        return job

    def recover(self) -> None:
        """Queue jobs left accepted; rerun or fail jobs left running by a stopped service."""
        for job in self.store.jobs(status=("accepted", "running")):
            if job.process not in self.processes:
                self.store.set_job(job.id, status="failed",
                                   message=f"process {job.process!r} is not available in this service any more")
            elif job.status == "running" and job.attempts >= MAX_ATTEMPTS:
                self.store.set_job(job.id, status="failed", message=(
                    f"the service stopped while this job was running ({job.attempts} attempts); not retried"))
            else:
                if job.status == "running":
                    self.store.set_job(job.id, status="accepted", progress=0,
                                       message="rerun: the service stopped while this job was running")
                self._pool.submit(self._run, job.id)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self, job_id: str) -> None:
        job = self.store.job(job_id)
        if job is None or not self.store.set_job(job_id, status="running", progress=0, message="started",
                                                 attempt=True, when=("accepted",)):
            return  # dismissed before it started

        def progress(percent: int, message: str) -> None:
            self.store.set_job(job_id, progress=max(0, min(99, int(percent))), message=message, when=("running",))

        context = JobContext(self.catalog, self.folder(job_id), progress)
        try:
            result = self.processes[job.process].run(context, job.inputs)
        except StadstwinError as exc:
            self.store.set_job(job_id, status="failed", message=str(exc), when=("running",))
        except Exception as exc:  # a bug in an analysis must fail the job, not the worker
            log.exception("job %s (%s) failed", job_id, job.process)
            self.store.set_job(job_id, status="failed", message=f"internal error ({type(exc).__name__})",
                               when=("running",))
        else:
            self.store.set_job(job_id, status="successful", progress=100, message="done", result=result,
                               when=("running",))
