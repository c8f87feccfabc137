"""Validating definition files (questions, decisions, rules) with pydantic, imported lazily.

The definitions are plain frozen dataclasses, so the CLI's hot path (a warm rules cache, then
`recommend`) never imports pydantic: it costs more than everything else `recommend` does.
When a definition file is read, pydantic validates it against the dataclass itself (a
`TypeAdapter` over the dataclass), so the field list, types, defaults and limits are written once.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, TypeVar, cast

T = TypeVar("T")

# pydantic reads this class attribute on a standard dataclass: unknown keys are errors.
STRICT_KEYS: dict[str, Any] = {"extra": "forbid"}


@dataclass(frozen=True)
class Limits:
    """Constraints on one field (`pattern`, `ge`, `max_length`, `min_length`, ...).

    Used as `Annotated[str, Limits(pattern=...)]`. It speaks pydantic's core-schema protocol,
    so it needs no pydantic import until a file is validated.
    """

    pattern: str | None = None
    ge: int | None = None
    min_length: int | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema.update({key: value for key, value in vars(self).items() if value is not None})
        return schema


class DefinitionError(ValueError):
    """A definition that does not match its dataclass; the message names the field."""


def validate(cls: type[T], data: Mapping[str, Any]) -> T:
    """`data` as an instance of the dataclass `cls`, checked by pydantic."""
    from pydantic import ValidationError

    if not isinstance(data, Mapping):
        raise DefinitionError(f"expected a mapping, got {type(data).__name__}")
    try:
        result: T = _adapter(cast(Hashable, cls)).validate_python(dict(data))
        return result
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(part) for part in err["loc"])
        raise DefinitionError(f"{loc}: {err['msg']}" if loc else err["msg"]) from None


@cache
def _adapter(cls: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def pickle_state(obj: Any) -> dict[str, Any]:
    """An instance's fields without its cached properties (compiled closures do not pickle;
    they are rebuilt on first use after unpickling). For a dataclass's `__getstate__`."""
    cls = type(obj)
    return {
        k: v for k, v in vars(obj).items() if not isinstance(getattr(cls, k, None), cached_property)
    }
