"""CDS Hooks 2.0 response models (cards, suggestions, actions, links, systemActions).

Serialise with `to_json()`: absent optional fields are left out, never sent as null or empty,
as the specification requires; `cards` is the one list allowed to be empty.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Indicator = Literal["info", "warning", "critical"]
SelectionBehavior = Literal["at-most-one", "any"]
ActionType = Literal["create", "update", "delete"]
LinkType = Literal["absolute", "smart"]


class SpecModel(BaseModel):
    """A model the service emits: nothing outside the specification, absent fields left out."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict without absent optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Coding(SpecModel):
    """CDS Hooks Coding: system and code required; display required for override reasons."""

    system: str
    code: str
    display: str | None = None


class Source(SpecModel):
    """Where the advice comes from (the guideline)."""

    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(SpecModel):
    """A create, update or delete of a FHIR resource, applied by the client."""

    type: ActionType
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Action:
        if self.type == "delete" and (self.resourceId is None or self.resource is not None):
            raise ValueError("delete uses resourceId, not resource (cds-resp-2)")
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"{self.type} needs a resource")
        return self


class Suggestion(SpecModel):
    """One button on a card: its actions are applied together, like a transaction."""

    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(SpecModel):
    """A link to a web page or a SMART app."""

    label: str
    url: str
    type: LinkType
    appContext: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext only on smart links (cds-resp-3)")
        return self


class OverrideReason(Coding):
    """An override reason: a Coding whose display is required (cds-resp-4)."""

    display: str


class Card(SpecModel):
    """One piece of advice."""

    uuid: str | None = None
    summary: str = Field(max_length=139)
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: SelectionBehavior | None = None
    overrideReasons: list[OverrideReason] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("suggestions need selectionBehavior (cds-resp-6)")
        if self.selectionBehavior == "at-most-one" and self.suggestions:
            recommended = sum(1 for s in self.suggestions if s.isRecommended)
            if recommended > 1:
                raise ValueError("at-most-one allows one recommended suggestion (cds-resp-1)")
        return self


class HookResponse(SpecModel):
    """The body of a 200 answer to a hook call."""

    cards: list[Card] = Field(default_factory=list)
    systemActions: list[Action] | None = None
    extension: dict[str, Any] | None = None
