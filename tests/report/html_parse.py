"""Parse the report's HTML into sections, tables and figures (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class ParsedSection:
    id: str
    status: str
    text: str = ""
    tables: list[list[list[str]]] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)

    def table_with(self, header: str) -> list[dict[str, str]]:
        """The first table whose header row contains ``header``, as a list of row dicts."""
        for t in self.tables:
            if t and header in t[0]:
                return [dict(zip(t[0], row, strict=False)) for row in t[1:]]
        raise AssertionError(f"no table with column {header!r} in section {self.id}")


class _ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, ParsedSection] = {}
        self.current: ParsedSection | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.tags: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a and a[key] and a[key].split(":", 1)[0] in ("http", "https", "ftp", "//"):
                self.external.append(a[key])
        if tag == "script":
            self.scripts += 1
        if tag == "section":
            self.current = ParsedSection(a["id"], a.get("data-status", ""))
            self.sections[a["id"]] = self.current
        elif self.current is None:
            return
        elif tag == "table":
            self.current.tables.append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "img":
            self.current.images.append(a)

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None
        elif self.current is None:
            return
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.tables[-1].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.current is not None:
            self.current.text += " " + data
            if self.cell is not None:
                self.cell.append(data)


def parse_report(html: str) -> _ReportParser:
    parser = _ReportParser()
    parser.feed(html)
    for s in parser.sections.values():
        s.text = " ".join(s.text.split())
    return parser
