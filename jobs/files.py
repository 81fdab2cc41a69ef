"""Files of jobs: those they make (exports), kept for a while and fetched by their store's owner
or manager, and those they are given (an import's upload), kept until the job has finished.

A job's file lives at `JOB_FILES_ROOT/<schema>/<job id>.<extension>`: the path comes from the
store whose schema is active and the job's id in it, never from anything a client sends, so a
link of one store can never name another store's file. The folder is shared by the web
processes and the workers.
"""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils.timezone import now

from jobs.models import Job

# What a job was given (an import's file): read by its worker, removed once the job has finished.
UPLOAD = "upload"
# A file of no job the sweep can see may belong to a job whose transaction has not committed yet.
UNKNOWN_GRACE = timedelta(hours=1)


def job_file_path(*, job_id: int, extension: str) -> Path:
    """Where the active store's job `job_id` writes its file."""
    folder = Path(settings.JOB_FILES_ROOT) / connection.schema_name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{int(job_id)}.{extension}"


def job_file_expires_at(job: Job):
    return (job.finished_at or now()) + timedelta(hours=settings.JOB_FILES_KEEP_HOURS)


def job_file(job: Job) -> Path | None:
    """The job's file if it made one that is still kept; None otherwise."""
    result = job.result if isinstance(job.result, dict) else {}
    extension = result.get("extension")
    if job.status != Job.Status.SUCCEEDED or extension not in ("csv", "xlsx"):
        return None
    if job_file_expires_at(job) < now():
        return None
    path = job_file_path(job_id=job.pk, extension=extension)
    return path if path.is_file() else None


def job_files_purge() -> int:
    """Delete the active store's job files no longer kept: what a job made once
    `JOB_FILES_KEEP_HOURS` have passed since it finished, what it was given once it has finished,
    and what a crashed job left half written or no job owns; how many."""
    folder = Path(settings.JOB_FILES_ROOT) / connection.schema_name
    if not folder.is_dir():
        return 0
    moment = now()
    keep = timedelta(hours=settings.JOB_FILES_KEEP_HOURS)
    jobs = {pk: (status, finished) for pk, status, finished in Job.objects.values_list(
        "pk", "status", "finished_at"
    )}  # fmt: skip
    removed = 0
    for path in folder.iterdir():
        stem, _, extension = path.name.partition(".")
        status, finished = jobs.get(int(stem) if stem.isdigit() else None, (None, None))
        age = timedelta(seconds=moment.timestamp() - path.stat().st_mtime)
        if status is None or extension.endswith(".part"):
            stale = age > max(keep, UNKNOWN_GRACE)
        elif finished is None:
            stale = False  # queued or running: its worker reads or writes it
        elif extension == UPLOAD:
            stale = True
        else:
            stale = status != Job.Status.SUCCEEDED or finished + keep < moment
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
