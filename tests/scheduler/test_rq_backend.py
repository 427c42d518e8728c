"""The job-runner seam on RQ: submit through Redis (127.0.0.1:6379), a real worker runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from engine.errors import InvalidArgumentError
from engine.service.jobs import RQJobRunner, job_runner

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOWCODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_queue():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    name = f"lowcode-test-{uuid.uuid4().hex[:8]}"
    yield name
    for key in client.scan_iter(f"rq:*{name}*"):
        client.delete(key)


def _run_worker(runner: RQJobRunner, job_id: str, until: tuple[str, ...]) -> str:
    """Run ``rq worker --burst`` on the queue until the job reaches one of ``until``; its
    status. The worker is stopped afterwards if still there: rq 2.12 with redis-py 8 may
    linger up to a minute joining its pub/sub thread after "done, quitting"."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--burst",
            "--url",
            REDIS_URL,
            runner.queue.name,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline:
            status = str(runner.queue.fetch_job(job_id).get_status(refresh=True))
            if status.rsplit(".", 1)[-1].lower() in until:
                break
            assert worker.poll() in (None, 0), worker.stderr.read()
            time.sleep(0.05)
        return status.rsplit(".", 1)[-1].lower()
    finally:
        try:
            worker.wait(5)
        except subprocess.TimeoutExpired:
            worker.terminate()
            worker.wait(10)


def test_job_submitted_through_rq_runs_in_a_worker_process(redis_queue, tmp_path):
    out = tmp_path / "rq.txt"
    runner = RQJobRunner(REDIS_URL, redis_queue)
    job_id = runner.submit(
        "tests.scheduler.jobs_targets:append_line", {"path": str(out), "line": "from rq"}
    )
    assert runner.queue.count == 1 and not out.exists()
    assert _run_worker(runner, job_id, ("finished", "failed")) == "finished"
    assert out.read_text() == "from rq\n"
    assert runner.queue.fetch_job(job_id).get_status() == "finished"
    assert runner.queue.count == 0


def test_failed_rq_job_is_kept_for_retry(redis_queue, tmp_path):
    runner = RQJobRunner(REDIS_URL, redis_queue)
    flag = tmp_path / "flag.txt"
    job_id = runner.submit(
        "tests.scheduler.jobs_targets:fail_until_file", {"path": str(flag), "line": "x"}
    )
    assert _run_worker(runner, job_id, ("scheduled", "failed")) == "scheduled"
    job = runner.queue.fetch_job(job_id)
    # failed once; RQ's Retry schedules it again (30 s later), nothing is lost
    assert job.get_status() == "scheduled" and job.retries_left == 3
    assert job.id in runner.queue.scheduled_job_registry.get_job_ids()


def test_job_runner_picks_the_backend(make_service):
    service = make_service()
    assert type(job_runner(service._context)).__name__ == "EmbeddedJobRunner"
    with pytest.raises(InvalidArgumentError, match="redis://"):
        job_runner(service._context, "amqp://x")
