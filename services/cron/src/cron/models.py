"""The cron jobs' wire format: camelCase JSON, times as RFC 3339 strings in UTC."""

from __future__ import annotations

from pydantic import AwareDatetime, Field, JsonValue

from common.models.wire import CamelModel, ObjectKey

MAX_NAME = 255  # of a target's service or handler name: it goes into a URL of the admin API


class JobRequest(CamelModel):
    cron_expression: str = Field(
        min_length=1,
        max_length=200,
        description="5 fields (minute hour day month weekday), or 6 with seconds first; UTC",
    )
    service: str = Field(min_length=1, max_length=MAX_NAME, description="the Restate service to call")
    method: str = Field(min_length=1, max_length=MAX_NAME, description="its handler")
    key: ObjectKey | None = Field(None, description="the object key, when the target is a virtual object")
    payload: JsonValue | None = Field(None, description="the handler's input; none: an empty body")


class JobInfo(CamelModel):
    request: JobRequest
    next_execution_time: AwareDatetime
    next_execution_id: str = Field(description="the scheduled Execute invocation (cancelled by Cancel)")


class CreateResult(CamelModel):
    job_id: str
    next_execution_time: AwareDatetime
