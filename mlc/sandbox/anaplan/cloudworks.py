"""CloudWorks integrations and their runs (reference/anaplan.md §4, community CloudWorks spec).

A run is a job on the model's queue (see :mod:`tasks`), so it takes the model lock like any import:
while it runs the model status reads "Processing ..." and other tasks wait. Its state is derived
from the job: queued, running (``latestRun.message`` "Running" is the live observation; that
``endDate`` is absent while running is unverified and chosen here), then "Success" or
"Cancelled". Decisions: a queued run reports ``message``
"Queued" (unverified); a run holds the lock for ``run_seconds`` and changes no data — its source
is a cloud store the sandbox does not have. ``POST /integrations/{id}/run`` on an integration that
already has a queued or running run answers 409 "Integration is already running"; ``cancel``
answers 404 while queued and 409 "Integration {id} is not in running state" when idle (both
live-observed), and cancels a running run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlc.sandbox.anaplan import ids
from mlc.sandbox.anaplan.envelope import iso_millis
from mlc.sandbox.anaplan.tasks import CANCELLED, COMPLETE, NOT_STARTED, Job


@dataclass
class Run:
    id: str
    integration_id: str
    triggered_by: str
    trigger_source: str
    created: float
    job: Job | None = None
    start: float | None = None
    end: float | None = None
    success: bool | None = None
    message: str = "Queued"
    trace_id: str = field(default_factory=ids.lower_hex32)

    def refresh(self) -> None:
        job = self.job
        if job is None:
            return
        if job.state == NOT_STARTED:
            self.message = "Queued"
        elif job.state == COMPLETE:
            self.start, self.end, self.success, self.message = job.start, job.end, True, "Success"
        elif job.state == CANCELLED:
            self.start = job.start if job.start is not None else job.created
            self.end, self.success, self.message = job.end or self.start, False, "Cancelled"
        else:
            self.start, self.message = job.start, "Running"

    @property
    def queued(self) -> bool:
        self.refresh()
        return self.job is not None and self.job.state == NOT_STARTED

    @property
    def active(self) -> bool:
        self.refresh()
        return self.message in ("Queued", "Running")

    def latest(self) -> dict[str, Any]:
        self.refresh()
        body: dict[str, Any] = {"triggeredBy": self.triggered_by}
        if self.start is not None:
            body["startDate"] = iso_millis(self.start)
        if self.end is not None:
            body["endDate"] = iso_millis(self.end)
        if self.success is not None:
            body["success"] = self.success
        body["message"] = self.message
        body["executionErrorCode"] = None
        body["triggerSource"] = self.trigger_source
        return body

    def record(self) -> dict[str, Any]:
        body = {"id": self.id, **self.latest(), "traceId": self.trace_id}
        if self.end is not None:
            body["lastRun"] = int(self.end)
        return body

    def status(self) -> dict[str, Any]:
        body = self.record()
        body.pop("lastRun", None)
        body.pop("triggeredBy", None)
        body["integrationId"] = self.integration_id
        body["creationDate"] = iso_millis(self.created)
        body["modificationDate"] = iso_millis(self.end or self.start or self.created)
        body["createdBy"] = self.triggered_by
        body["modifiedBy"] = self.triggered_by
        body["flowGroupId"] = None
        return body


@dataclass
class Integration:
    id: str
    name: str
    integration_type: str  # "Import", "Export" or "Process"
    workspace_id: str
    model_id: str
    action_id: str
    action_name: str
    created_by: str
    created: float
    notification_id: str = field(default_factory=ids.lower_hex32)
    connection_id: str = field(default_factory=ids.lower_hex32)
    runs: list[Run] = field(default_factory=list)

    def latest_run(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def summary(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "integrationId": self.id,
            "name": self.name,
            "integrationType": self.integration_type,
            "workspaceId": self.workspace_id,
            "modelId": self.model_id,
            "createdBy": self.created_by,
            "creationDate": iso_millis(self.created),
            "modificationDate": iso_millis(self.created),
            "modifiedBy": self.created_by,
            "notificationId": self.notification_id,
            "nuxVisible": False,
        }
        latest = self.latest_run()
        if latest is not None:
            body["latestRun"] = latest.latest()
        return body

    def detail(self) -> dict[str, Any]:
        body = self.summary()
        body["version"] = "2.0"
        job_type = "AnaplanToS3" if self.integration_type == "Export" else "S3ToAnaplan"
        body["jobs"] = [
            {
                "type": job_type,
                "sources": [{"type": "AmazonS3", "connectionId": self.connection_id}],
                "targets": [{"type": "Anaplan", "actionId": self.action_id}],
            }
        ]
        return body
