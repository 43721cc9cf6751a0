"""Turn a raw body or file into a typed spec, or a SpecError that names the source and the field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from parity.api.models import (
    CONFIG_VALUE_PATTERN,
    DNS_SUBDOMAIN_PATTERN,
    IMAGE_PATTERN,
    QUANTITY_PATTERN,
    BaselineSpec,
    EnvironmentSpec,
)
from parity.api.names import baseline_name_problems, environment_name_problems

# What a pattern means, said instead of the bare regular expression.
PATTERN_MEANINGS = {
    QUANTITY_PATTERN: "must be a Kubernetes quantity such as 1Gi, 512Mi, 500m or 0.5",
    CONFIG_VALUE_PATTERN: "must not contain a newline or another control character "
                          "(it would start a new line in the configuration file)",
    IMAGE_PATTERN: "must be an image reference without whitespace",
    DNS_SUBDOMAIN_PATTERN: "must be a DNS subdomain: lowercase letters, digits, '-' and '.'",
}


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
        pattern = (e.get("ctx") or {}).get("pattern")
        if e["type"] == "string_pattern_mismatch" and pattern in PATTERN_MEANINGS:
            message = f"{PATTERN_MEANINGS[pattern]}; got {e['input']!r}"
        problems.append(f"{_field(e['loc'], prefix)}: {message}")
    return problems


def parse_environment(spec: Any, source: str = "ParityEnvironment", *, name: str | None = None) -> EnvironmentSpec:
    """The typed spec; with `name`, metadata.name is checked too (as the CRD's top-level rules do)."""
    problems = environment_name_problems(name) if name is not None else []
    return _parse(EnvironmentSpec, spec, source, problems)


def parse_baseline(spec: Any, source: str = "ParityBaseline", *, name: str | None = None) -> BaselineSpec:
    problems = baseline_name_problems(name) if name is not None else []
    return _parse(BaselineSpec, spec, source, problems)


def _parse(model, spec: Any, source: str, problems: list[str]):
    if not isinstance(spec, dict):
        raise SpecError(source, [*problems, "spec: must be a mapping"])
    try:
        parsed = model.model_validate(spec)
    except ValidationError as err:
        raise SpecError(source, [*problems, *describe_validation_error(err)]) from None
    if problems:
        raise SpecError(source, problems)
    return parsed
