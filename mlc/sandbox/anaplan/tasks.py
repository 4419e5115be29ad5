"""Task lifecycle and the per-model lock, computed lazily from the sandbox clock.

Imports, exports, "other user" actions and CloudWorks runs all take the model's exclusive lock
(help 27b77b79 "Model busy behavior"; CloudWorks jobs run as ordinary actions on the model —
inferred). One job runs at a time per model; later jobs wait first-in first-out in NOT_STARTED
(anaplan-sdk concepts: "Anaplan will queue this task"; no source documents a refusal code, so the
emulator never refuses a task for a busy model).

Nothing sleeps in the background: a job stores its creation time, and :meth:`ModelQueue.settle`
works out — whenever the model is observed — which jobs have started and finished by now. A job
starts at ``max(created, end of the previous job)``; when it starts it is *prepared* (the import
file is parsed, the export written) and its duration fixed as ``base + seconds_per_row x rows``; its
effects are applied when it completes. So advancing the sandbox clock moves every task on at once,
and the order of effects is exactly the queue order.

States (help 0cccdcec): NOT_STARTED → IN_PROGRESS → COMPLETE, with ``result`` only once terminal.
``DELETE`` on a task cancels it: a queued task becomes CANCELLED at once; a running one goes through
CANCELLING (holding the lock for ``cancel_seconds`` while it "rolls back") to CANCELLED, and its
staged writes are discarded. Decisions (unverified): ``currentStep`` reads "Pending." while queued,
"Processing ..." while running (the model status wording), "Cancelling." and "Cancelled."; a
cancelled task's result is ``{"successful": false, "failureDumpAvailable": false, "objectId": …}``.
No ``serverFailureCause`` field is ever emitted (no source shows it). A busy model never answers
409 or 423 to a task start (the seeded model is never archived or locked); 409 "model busy" in
help 721d3176 has no documented trigger, so queueing is the only behaviour emulated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlc.sandbox.anaplan import ids

NOT_STARTED = "NOT_STARTED"
IN_PROGRESS = "IN_PROGRESS"
CANCELLING = "CANCELLING"
COMPLETE = "COMPLETE"
CANCELLED = "CANCELLED"
TERMINAL = frozenset({COMPLETE, CANCELLED})


@dataclass
class Prepared:
    rows: int
    finish: Callable[[], dict[str, Any]]
    discard: Callable[[], None] = lambda: None
    duration: float | None = None


@dataclass(frozen=True)
class Actor:
    email: str
    display_name: str


@dataclass
class Job:
    kind: str  # "import", "export" or "cloudworks"
    label: str  # "Import" or "Export": what the model status says is processing
    object_id: str
    object_name: str
    actor: Actor
    created: float
    prepare: Callable[[], Prepared]
    task_id: str = field(default_factory=ids.task_id)
    state: str = NOT_STARTED
    start: float | None = None
    end: float | None = None
    result: dict[str, Any] | None = None
    prepared: Prepared | None = None

    def progress(self, now: float) -> float:
        if self.state == COMPLETE:
            return 1.0
        if self.start is None or self.end is None or now <= self.start:
            return 0.0
        span = self.end - self.start
        return 0.99 if span <= 0 else min(0.99, round((now - self.start) / span, 4))

    def view(self, now: float) -> dict[str, Any]:
        step = {
            NOT_STARTED: "Pending.",
            IN_PROGRESS: "Processing ...",
            CANCELLING: "Cancelling.",
            COMPLETE: "Complete.",
            CANCELLED: "Cancelled.",
        }[self.state]
        body: dict[str, Any] = {
            "taskId": self.task_id,
            "currentStep": step,
            "progress": self.progress(now),
            "taskState": self.state,
            "creationTime": int(self.created * 1000),
        }
        if self.state in TERMINAL and self.result is not None:
            body["result"] = self.result
        return body

    def brief(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "taskState": self.state,
            "creationTime": int(self.created * 1000),
        }


def _internal_error(job: Job, exc: BaseException) -> dict[str, Any]:
    detail = {
        "type": "internalError",
        "localMessageText": f"The sandbox failed to run this task: {exc!r}",
        "occurrences": 0,
        "values": [],
    }
    return {
        "details": [detail],
        "failureDumpAvailable": False,
        "objectId": job.object_id,
        "successful": False,
    }


@dataclass(frozen=True)
class Timing:
    base_seconds: float
    seconds_per_row: float
    cancel_seconds: float


class ModelQueue:
    """The lock and FIFO queue of one model."""

    def __init__(
        self,
        timing: Timing,
        on_start: Callable[[Job, int], None] = lambda job, running: None,
    ) -> None:
        self.timing = timing
        self.on_start = on_start
        self.pending: deque[Job] = deque()
        self.jobs: dict[str, Job] = {}
        self.free_at = 0.0

    def submit(self, job: Job) -> Job:
        self.pending.append(job)
        self.jobs[job.task_id] = job
        return job

    def settle(self, now: float) -> None:
        while self.pending:
            job = self.pending[0]
            if job.state == NOT_STARTED:
                start = max(job.created, self.free_at)
                if start > now:
                    return
                self._begin(job, start)
            assert job.end is not None
            if job.end > now:
                return
            self._finish(job)
            self.free_at = job.end
            self.pending.popleft()

    def _begin(self, job: Job, start: float) -> None:
        running = sum(1 for j in self.pending if j.state in (IN_PROGRESS, CANCELLING))
        job.state = IN_PROGRESS
        job.start = start
        try:
            job.prepared = job.prepare()
        except Exception as exc:  # an emulator bug must fail one task, not wedge the model
            failure = _internal_error(job, exc)
            job.prepared = Prepared(0, lambda: failure)
        duration = job.prepared.duration
        if duration is None:
            duration = self.timing.base_seconds + self.timing.seconds_per_row * job.prepared.rows
        job.end = start + duration
        self.on_start(job, running + 1)

    def _finish(self, job: Job) -> None:
        assert job.prepared is not None
        if job.state == CANCELLING:
            job.prepared.discard()
            job.state = CANCELLED
            job.result = self._cancelled_result(job)
            return
        job.result = job.prepared.finish()
        job.state = COMPLETE

    @staticmethod
    def _cancelled_result(job: Job) -> dict[str, Any]:
        return {"successful": False, "failureDumpAvailable": False, "objectId": job.object_id}

    def running(self, now: float) -> Job | None:
        self.settle(now)
        if self.pending and self.pending[0].state in (IN_PROGRESS, CANCELLING):
            return self.pending[0]
        return None

    def cancel(self, job: Job, now: float) -> None:
        self.settle(now)
        if job.state == NOT_STARTED:
            self.pending.remove(job)
            job.state = CANCELLED
            job.result = self._cancelled_result(job)
        elif job.state == IN_PROGRESS:
            job.state = CANCELLING
            job.end = now + self.timing.cancel_seconds
        self.settle(now)

    def tasks_of(self, object_id: str) -> list[Job]:
        """Tasks of one action (CloudWorks runs are tracked as runs, not listed as tasks)."""
        return [
            j for j in self.jobs.values() if j.object_id == object_id and j.kind != "cloudworks"
        ]
