"""Read and check a define.xml written by `cfz export adam`: schema validation against the
public Define-XML 2.1 XSD (../shared/conformance/define-xml-2.1, lxml) and the facts the tests
assert (classes, keys, leaves, origins, codelists, value-level metadata)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from tests.conftest import CONFORMANCE

SCHEMA = CONFORMANCE / "define-xml-2.1" / "schema" / "define2-1-0.xsd"
NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def schema_errors(path: Path) -> list[str]:
    """The schema's errors on the document (empty when it validates)."""
    schema = _schema()
    schema.validate(etree.parse(str(path)))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def groups(doc: etree._ElementTree) -> dict[str, etree._Element]:
    return {g.get("Name"): g for g in doc.iterfind(".//odm:ItemGroupDef", NS)}


def items(doc: etree._ElementTree) -> dict[str, etree._Element]:
    return {i.get("OID"): i for i in doc.iterfind(".//odm:ItemDef", NS)}
