"""How a merged line is printed: text prefixed with its source (coloured per source on a
terminal), or one JSON object per line."""

from __future__ import annotations

import json

from parity.logs.lines import LogLine, detect_level

# Distinct, readable on dark and light terminals; assigned to sources in order of appearance.
_PALETTE = ("\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[96m", "\033[93m", "\033[95m",
            "\033[92m", "\033[94m", "\033[31m", "\033[91m")
_RESET = "\033[0m"


def format_time(line: LogLine) -> str:
    if line.time is None:
        return "-"
    return line.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{line.time.microsecond // 1000:03d}Z"


class SourceColours:
    """A colour per source, stable for the run: the n-th source seen gets the n-th colour."""

    def __init__(self) -> None:
        self._assigned: dict[str, str] = {}

    def colour(self, source: str) -> str:
        if source not in self._assigned:
            self._assigned[source] = _PALETTE[len(self._assigned) % len(_PALETTE)]
        return self._assigned[source]


def format_text(line: LogLine, *, width: int = 0, colours: SourceColours | None = None) -> str:
    """`TIME component/pod/container  message`; the source padded to `width` so messages align."""
    source = line.source.ljust(width)
    if colours is not None:
        source = f"{colours.colour(line.source)}{source}{_RESET}"
    return f"{format_time(line)} {source}  {line.message}"


def format_json(line: LogLine) -> str:
    return json.dumps({
        # Fixed width (always six fraction digits) so that the strings sort like the times they name:
        # isoformat() drops the fraction when it is zero, which breaks string order.
        "time": line.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if line.time else None,
        "component": line.component,
        "pod": line.pod,
        "container": line.container,
        "level": detect_level(line.message),
        "message": line.message,
    }, ensure_ascii=False)
