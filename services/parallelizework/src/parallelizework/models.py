from pydantic import BaseModel, ConfigDict, Field


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(description="the parts of the work, separated by commas")


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
