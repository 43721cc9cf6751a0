"""Turn a raw body or file into a typed spec, or a SpecError that names the source and the field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from parity.api.models import BaselineSpec, EnvironmentSpec


class SpecError(ValueError):
    """Invalid input: carries one line per problem, each naming source and field."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def _field(loc: tuple[Any, ...], prefix: str) -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1 if parts else 0:] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def describe_validation_error(err: ValidationError, prefix: str = "spec") -> list[str]:
    problems = []
    for e in err.errors():
        message = e["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        problems.append(f"{_field(e['loc'], prefix)}: {message}")
    return problems


def parse_environment(spec: Any, source: str = "ParityEnvironment") -> EnvironmentSpec:
    if not isinstance(spec, dict):
        raise SpecError(source, ["spec: must be a mapping"])
    try:
        return EnvironmentSpec.model_validate(spec)
    except ValidationError as err:
        raise SpecError(source, describe_validation_error(err)) from None


def parse_baseline(spec: Any, source: str = "ParityBaseline") -> BaselineSpec:
    if not isinstance(spec, dict):
        raise SpecError(source, ["spec: must be a mapping"])
    try:
        return BaselineSpec.model_validate(spec)
    except ValidationError as err:
        raise SpecError(source, describe_validation_error(err)) from None
