"""Files that jobs make (exports), kept for a while and fetched by their store's owner or manager.

A job's file lives at `JOB_FILES_ROOT/<schema>/<job id>.<extension>`: the path comes from the
store whose schema is active and the job's id in it, never from anything a client sends, so a
link of one store can never name another store's file.
"""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils.timezone import now

from jobs.models import Job


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
    """Delete the active store's job files no longer kept (and any a crashed job left half
    written); how many."""
    folder = Path(settings.JOB_FILES_ROOT) / connection.schema_name
    if not folder.is_dir():
        return 0
    keep = timedelta(hours=settings.JOB_FILES_KEEP_HOURS)
    finished = dict(
        Job.objects.filter(status=Job.Status.SUCCEEDED).values_list("pk", "finished_at")
    )
    removed = 0
    for path in folder.iterdir():
        stem = path.name.split(".", 1)[0]
        job_id = int(stem) if stem.isdigit() else None
        done = finished.get(job_id)
        if path.name.endswith(".part"):
            stale = now().timestamp() - path.stat().st_mtime > keep.total_seconds()
        else:
            stale = done is None or done + keep < now()
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
