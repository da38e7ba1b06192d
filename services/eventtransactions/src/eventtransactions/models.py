from pydantic import BaseModel, ConfigDict, Field


class SocialMediaPost(BaseModel):
    """The value of a record on ``social-media-posts``; the record key is the user id."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(description="the text of the post")
    metadata: str = Field(description="e.g. the audience: public, friends")
