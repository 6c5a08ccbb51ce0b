"""Output formatters for the levante CLI.

The formats follow what the `mistral` CLI (cliff) prints:

* lists (``Listing``): table, csv, json, value, yaml
* single objects (``Record``): table, json, shell, value, yaml

Tables are drawn like prettytable does for cliff: ``+---+`` rules, one space
of padding, a column is right-aligned when the value in its first row is an
``int`` or ``float`` (not ``bool``), left-aligned otherwise; multi-line cells
grow the row.  ``None`` prints as ``None``.
"""

from __future__ import annotations

import csv
import json
import os
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence, TextIO

LIST_FORMATS = ("table", "csv", "json", "value", "yaml")
SHOW_FORMATS = ("table", "json", "shell", "value", "yaml")
DATA_FORMATS = ("table", "json", "value", "yaml")


class OutputError(Exception):
    """Raised for bad output options (e.g. unknown -c column)."""


@dataclass
class Listing:
    """Result of a list command: column headings and rows."""

    columns: list[str]
    rows: list[Sequence[Any]] = field(default_factory=list)


@dataclass
class Record:
    """Result of a show command: field names and their values."""

    columns: list[str]
    values: Sequence[Any] = ()


@dataclass
class Text:
    """Raw text written as is (e.g. pretty JSON, a definition)."""

    text: str


@dataclass
class Failed:
    """A result shown as usual, after which the command fails with ``message``
    (``execution-create --wait`` of an execution that did not succeed)."""

    result: Any
    message: str


@dataclass
class Data:
    """A JSON value the API returned as JSON text (an execution's output, a
    task's result...). ``table`` (the default) prints it as mistralclient
    does (indented JSON); ``json``, ``yaml`` and ``value`` print the value
    itself in that format (``value``: a string as is, anything else as JSON)."""

    raw: Any
    text: str | None = None     # what ``table`` prints, when not pretty_json_text(raw)
    literal: bool = False       # raw is text to show as is (a definition), not JSON

    @classmethod
    def document(cls, text: str | None) -> "Data":
        """A text document (a definition, a module): ``table`` and ``value``
        print it as is, ``json`` and ``yaml`` as one string."""
        return cls(text or "", (text or "\n"), literal=True)


def decode_json_field(raw: Any) -> Any:
    if isinstance(raw, (str, bytes, bytearray)):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def emit_data(data: Data, fmt: str, stdout: TextIO, *, noindent: bool = False) -> None:
    if fmt == "table":
        stdout.write(data.text if data.text is not None else pretty_json_text(data.raw))
        return
    value = data.raw if data.literal else decode_json_field(data.raw)
    if fmt == "value" and data.literal:
        stdout.write(value if value.endswith("\n") else value + "\n")
    elif fmt == "json":
        json.dump(value, stdout, indent=None if noindent else 2)
        stdout.write("\n")
    elif fmt == "yaml":
        _yaml_dump(value, stdout)
    elif fmt == "value":
        stdout.write((value if isinstance(value, str) else json.dumps(value)) + "\n")
    else:
        raise OutputError("Unknown data format: %s" % fmt)


# --------------------------------------------------------------------------
# colours for states (a terminal only; NO_COLOR turns them off)
# --------------------------------------------------------------------------

STATE_COLOURS = {
    "SUCCESS": "32", "ERROR": "31", "RUNNING": "33", "RUNNING_DELAYED": "33", "WAITING": "33",
    "DELAYED": "33", "IDLE": "2", "PAUSED": "36", "CANCELLED": "35", "SKIPPED": "2",
}


def use_colour(stream: TextIO, environ=None) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR", "") != "" or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False


def colour_state(text: str) -> str:
    code = STATE_COLOURS.get(text.strip())
    return f"\033[{code}m{text}\033[0m" if code else text


# --------------------------------------------------------------------------
# column selection / sorting (cliff's -c and --sort-column)
# --------------------------------------------------------------------------


def normalize_column_name(name: str) -> str:
    return name.lower().strip().replace(" ", "_")


def select_columns(columns: Sequence[str], wanted: Sequence[str] | None):
    """Return (kept column names, selector list or None) for ``-c`` options.

    Columns keep the command's order, not the order of the options.
    """
    if not wanted:
        return list(columns), None
    requested = {normalize_column_name(c) for c in wanted}
    kept = [c for c in columns if normalize_column_name(c) in requested]
    if not kept:
        raise OutputError(
            "No recognized column names in %s. Recognized columns are %s."
            % (list(wanted), list(columns))
        )
    return kept, [c in kept for c in columns]


def _compress(values: Sequence[Any], selector: list[bool] | None) -> list[Any]:
    if selector is None:
        return list(values)
    return [v for v, keep in zip(values, selector) if keep]


def sort_rows(columns: Sequence[str], rows: list[Sequence[Any]],
              sort_columns: Sequence[str] | None, descending: bool = False):
    if not sort_columns:
        return rows
    normalized = [normalize_column_name(c) for c in columns]
    indexes = []
    for col in sort_columns:
        if col in columns:
            indexes.append(list(columns).index(col))
        elif normalize_column_name(col) in normalized:
            indexes.append(normalized.index(normalize_column_name(col)))
    for index in reversed(indexes):
        try:
            rows = sorted(rows, key=lambda r: (r[index] is None, r[index]),
                          reverse=descending)
        except TypeError:
            pass  # best effort, like cliff
    return rows


# --------------------------------------------------------------------------
# ASCII tables
# --------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text.replace("\r\n", "\n").replace("\r", " ")


def text_width(text: str) -> int:
    """Display width of one line (East Asian wide chars count as 2)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int, align: str) -> str:
    gap = width - text_width(text)
    if gap <= 0:
        return text
    if align == "r":
        return " " * gap + text
    return text + " " * gap


def _alignment(value: Any) -> str:
    return "r" if type(value) in (int, float) else "l"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                 aligns: Sequence[str] | None = None, colour: bool = False) -> str:
    """Render a prettytable-style ASCII table (without trailing newline)."""
    headers = [_cell_text(h) for h in headers]
    if aligns is None:
        aligns = [_alignment(v) for v in rows[0]] if rows else ["l"] * len(headers)
    cells = [[_cell_text(v).split("\n") for v in row] for row in rows]
    widths = [text_width(h) for h in headers]
    for row in cells:
        for i, lines in enumerate(row):
            for line in lines:
                widths[i] = max(widths[i], text_width(line))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(parts: Sequence[str], paint: bool = False) -> str:
        cells = [_pad(p, widths[i], aligns[i]) for i, p in enumerate(parts)]
        if paint:   # after padding: escape codes take no room on screen
            cells = [colour_state(c) for c in cells]
        return "|" + "|".join(" " + c + " " for c in cells) + "|"

    out = [rule, line(headers), rule]
    for row in cells:
        height = max((len(lines) for lines in row), default=1)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row], colour))
    out.append(rule)
    return "\n".join(out)


# --------------------------------------------------------------------------
# emitters
# --------------------------------------------------------------------------


def _yaml_dump(data: Any, stream: TextIO) -> None:
    import yaml  # deferred: only needed for -f yaml

    yaml.safe_dump(data, stream=stream, default_flow_style=False)


def emit_list(listing: Listing, fmt: str, stdout: TextIO, *,
              columns: Sequence[str] | None = None,
              sort_columns: Sequence[str] | None = None,
              sort_descending: bool = False,
              noindent: bool = False, quote: str = "nonnumeric", colour: bool = False) -> None:
    rows = sort_rows(listing.columns, list(listing.rows), sort_columns,
                     sort_descending)
    names, selector = select_columns(listing.columns, columns)
    rows = [_compress(r, selector) for r in rows]

    if fmt == "table":
        stdout.write(render_table(names, rows, colour=colour) + "\n")
    elif fmt == "json":
        items = [dict(zip(names, row)) for row in rows]
        json.dump(items, stdout, indent=None if noindent else 2)
        stdout.write("\n")
    elif fmt == "yaml":
        _yaml_dump([dict(zip(names, row)) for row in rows], stdout)
    elif fmt == "value":
        for row in rows:
            stdout.write(" ".join(str(v) for v in row) + "\n")
    elif fmt == "csv":
        modes = {"all": csv.QUOTE_ALL, "minimal": csv.QUOTE_MINIMAL,
                 "nonnumeric": csv.QUOTE_NONNUMERIC, "none": csv.QUOTE_NONE}
        writer = csv.writer(stdout, quoting=modes[quote],
                            lineterminator=os.linesep, escapechar="\\")
        writer.writerow(names)
        for row in rows:
            writer.writerow(row)
    else:
        raise OutputError("Unknown list format: %s" % fmt)


def emit_one(record: Record, fmt: str, stdout: TextIO, *,
             columns: Sequence[str] | None = None,
             noindent: bool = False, prefix: str = "", colour: bool = False) -> None:
    names, selector = select_columns(record.columns, columns)
    values = _compress(record.values, selector)

    if fmt == "table":
        stdout.write(render_table(["Field", "Value"],
                                  [[n, v] for n, v in zip(names, values)],
                                  aligns=["l", "l"], colour=colour) + "\n")
    elif fmt == "json":
        json.dump(dict(zip(names, values)), stdout,
                  indent=None if noindent else 2)
        stdout.write("\n")
    elif fmt == "yaml":
        for name, value in zip(names, values):
            _yaml_dump({name: value}, stdout)
    elif fmt == "value":
        for value in values:
            stdout.write("%s\n" % (value,))
    elif fmt == "shell":
        for name, value in zip(names, values):
            var = normalize_column_name(name).replace(":", "_").replace("-", "_")
            if isinstance(value, str):
                value = value.replace('"', '\\"')
            stdout.write('%s%s="%s"\n' % (prefix, var, value))
    else:
        raise OutputError("Unknown show format: %s" % fmt)


def pretty_json_text(value: Any) -> str:
    """What mistralclient's *-get-output/-input/-result commands print.

    ``value`` is what the API returned (usually a string holding JSON).  If
    it parses as JSON it is re-dumped with indent 4 plus a newline; otherwise
    it is printed as is; an empty value prints a bare newline.
    """
    text = value
    try:
        if isinstance(value, (str, bytes, bytearray)):
            parsed = json.loads(value)
        elif value is None:
            raise ValueError("no value")
        else:
            parsed = value
        text = json.dumps(parsed, indent=4) + "\n"
    except (TypeError, ValueError):
        pass
    return text or "\n"
