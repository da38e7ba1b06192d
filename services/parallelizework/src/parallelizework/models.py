from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_PARTS = 1000  # subtask invocations one Run may start


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(description=f"the parts of the work, separated by commas; at most {MAX_PARTS}")

    @field_validator("description")
    @classmethod
    def _bounded_fan_out(cls, description: str) -> str:
        if len(split(description)) > MAX_PARTS:
            raise ValueError(f"more than {MAX_PARTS} parts")
        return description


class SubTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, description="one part of the work")


class SubTaskResult(BaseModel):
    description: str


class Result(BaseModel):
    description: str


def split(description: str) -> list[str]:
    """The parts of a task: split on commas, trimmed, blanks dropped (``"a, ,b"`` -> a, b)."""
    return [part.strip() for part in description.split(",") if part.strip()]


def aggregate(results: list[SubTaskResult]) -> Result:
    """The subtasks' results joined by commas, in the order of the parts."""
    return Result(description=",".join(result.description for result in results))
