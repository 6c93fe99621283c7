"""The local stand-in for Vercel Cron: runs every `crons` path of vercel.json on its schedule.

It calls the paths over HTTP on the dev server itself, with the same
`Authorization: Bearer $CRON_SECRET` header Vercel sends, so a job runs
exactly as deployed. `LOCAL_CRON=off` turns it off (the tests call jobs themselves).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cronsim import CronSim

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("nexuspoint.local.cron")


@dataclass(frozen=True)
class Job:
    path: str
    schedule: str

    def due_at(self, minute: datetime) -> bool:
        """Whether the schedule fires at this minute (seconds ignored, UTC like Vercel)."""
        start = minute.replace(second=0, microsecond=0)
        return next(CronSim(self.schedule, start - timedelta(minutes=1))) == start


def jobs(root: Path = ROOT) -> list[Job]:
    config = json.loads((root / "vercel.json").read_text())
    return [Job(c["path"], c["schedule"]) for c in config.get("crons", [])]


def call(base_url: str, secret: str, job: Job, timeout: float = 60) -> int:
    """One invocation, as Vercel makes it; returns the HTTP status (0 if the server did not answer)."""
    request = urllib.request.Request(base_url + job.path, headers={"Authorization": f"Bearer {secret}", "User-Agent": "vercel-cron/1.0"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def run_due(base_url: str, secret: str, minute: datetime, all_jobs: list[Job]) -> list[tuple[Job, int]]:
    """Run, each in its own thread, the jobs due at `minute`; returns (job, status) pairs once all end."""
    due = [job for job in all_jobs if job.due_at(minute)]
    results: list[tuple[Job, int]] = []
    threads = [threading.Thread(target=lambda j=job: results.append((j, call(base_url, secret, j))), daemon=True) for job in due]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for job, status in results:
        log.info("cron %s -> %s", job.path, status or "no answer")
    return results


def start(base_url: str, secret: str) -> threading.Thread:
    """A daemon thread that wakes at the top of every minute and runs what is due."""
    all_jobs = jobs()

    def loop():
        while True:
            now = datetime.now(UTC)
            next_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            time.sleep((next_minute - now).total_seconds())
            threading.Thread(target=run_due, args=(base_url, secret, next_minute, all_jobs), daemon=True).start()

    thread = threading.Thread(target=loop, name="local-cron", daemon=True)
    thread.start()
    return thread
