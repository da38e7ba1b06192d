from pydantic import BaseModel, ConfigDict, Field


class TaskOpts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="task id; also the idempotency key of the submission")
    description: str = Field(description="what to work on")


class Result(BaseModel):
    description: str
