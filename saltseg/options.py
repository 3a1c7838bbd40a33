"""The base of every config section: pydantic models with one-line errors and strict numbers.

Each section is defined once, next to the code that uses it (the model spec in saltseg.nn.spec,
the mosaic options in saltseg.mosaic.assemble, ...); saltseg.config composes them into the
workflow config and generates its JSON schema from them. Defaults live in the models only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
)

from saltseg.errors import SaltsegError

T = TypeVar("T", bound="Options")


def _number(v: Any) -> Any:
    # YAML reads "1e-3" (no dot) as a string: accept it rather than surprise the user; but a
    # bool is never a number here, although Python says it is.
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {v!r}")
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise ValueError(f"expected a number, got {v!r}") from None
    if isinstance(v, int | float) and not math.isfinite(v):
        raise ValueError(f"must be finite, got {v!r}")
    return v


Int = Annotated[int, Strict()]
Number = Annotated[float, BeforeValidator(_number)]
Bool = Annotated[bool, Strict()]


def _unique(v: list) -> list:
    if len(set(map(str, v))) != len(v):
        raise ValueError(f"duplicates in {v!r}")
    return v


def unique_list(item: Any) -> Any:
    """A list type whose items must differ."""
    return Annotated[list[item], AfterValidator(_unique)]


def choice(*options: str, case: bool = True) -> Any:
    """One of ``options``; with ``case=False`` any capitalisation is accepted and normalised."""

    def normalise(v: Any) -> Any:
        if not case and isinstance(v, str):
            for o in options:
                if v.lower() == o.lower():
                    return o
        return v

    return Annotated[Literal[options], BeforeValidator(normalise)]


Fraction = Annotated[Number, Field(ge=0.0, le=1.0)]


class Options(BaseModel):
    """A config section: unknown keys are errors, values are immutable once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @classmethod
    def parse(cls: type[T], data: Mapping | None, source: str = "config") -> T:
        """Validate a plain mapping (e.g. from YAML); a SaltsegError names the key and problem."""
        try:
            return cls.model_validate({} if data is None else data)
        except ValidationError as exc:
            raise SaltsegError(f"{source}: {describe(exc)}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples) that :meth:`parse` reads back into an equal object."""
        return self.model_dump(mode="json", by_alias=True)


# Pydantic adds the member of a union that failed to an error's location ("list[int]",
# "function-before[...]"); those are not keys a user wrote.
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
# Errors that only say "not this type": for a union, another member's error says more.
_GENERIC = {
    "literal_error", "int_type", "float_type", "string_type", "list_type", "dict_type",
    "bool_type", "model_type", "model_attributes_type", "none_required", "is_instance_of",
}  # fmt: skip


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _KEY.match(str(part)):
            out += f".{part}" if out else str(part)
    return out


def _problem(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "unknown key"
    problem = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    shown = repr(error.get("input"))
    if kind not in ("value_error", "assertion_error") and len(shown) <= 60:
        problem += f", got {shown}"
    return problem


def describe(exc: ValidationError) -> str:
    """The first problem of a ValidationError as ``key.path: problem``, on one line."""
    errors = exc.errors(include_url=False)
    where = _where(tuple(errors[0]["loc"]))
    here = [e for e in errors if _where(tuple(e["loc"])) == where]
    specific = [e for e in here if e["type"] not in _GENERIC]
    problem = _problem((specific or here)[0])
    others = len({_where(tuple(e["loc"])) for e in errors}) - 1
    more = f" (and {others} more problem(s))" if others else ""
    return f"{where}: {problem}{more}" if where else f"{problem}{more}"
