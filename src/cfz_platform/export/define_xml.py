"""``define.xml``: Define-XML 2.1 metadata of an ADaM export, written beside the XPT files.

What it holds (Define-XML 2.1.0 on ODM 1.3.2, ``def:Context="Submission"``):
- ``def:Standards``: ADaMIG 1.3 (every dataset points at it);
- one ``ItemGroupDef`` per written dataset: name, label, ``def:Structure``, ``def:Class`` (and
  ``def:SubClass``), ``Purpose="Analysis"``, key variables (``ItemRef KeySequence``) and a
  ``def:leaf`` link to its XPT file (``ArchiveLocationID``);
- one ``ItemDef`` per variable: data type (text, integer, float; dates integer with the DATE9.
  display format), length (text: the longest value in bytes, numbers 8), significant digits of
  floats, ``def:Origin`` (Collected, Derived, Assigned, Predecessor: the dbt YAML
  ``meta.origin``), a ``MethodDef`` for a derived variable and the predecessor's name for a
  copied one (``meta.derivation``), a comment for assigned and collected ones;
- a ``CodeList`` per ``meta.codelist``: the values the datasets hold (with the decoding column's
  value, e.g. PARAM for PARAMCD, as ``CodeListItem``; else ``EnumeratedItem``);
- value-level metadata of BDS datasets: per PARAMCD value a ``WhereClauseDef`` (PARAMCD EQ
  value) and a ``ValueListDef`` on AVAL (and AVALC where that parameter has it), each item
  described by its PARAM.

Empty datasets are not exported, so they are not described here either. The values (lengths,
codelist terms, parameters) come from the frames exported; everything else from the YAML.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
from lxml import etree

from cfz_platform.export.metadata import DatasetMeta, VariableMeta

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
ADAMIG_VERSION = "1.3"
DEFINE_VERSION = "2.1.0"
STANDARD_OID = "STD.ADAMIG.1.3"
#: Numbers (and SAS dates) are 8-byte doubles in XPORT.
NUMERIC_LENGTH = 8


@dataclass(frozen=True)
class DefineDataset:
    """One exported dataset for define.xml: its metadata, its rows and its XPT file name."""

    meta: DatasetMeta
    frame: pd.DataFrame
    file: str


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def compute_oid_part(value: object) -> str:
    """A value as part of an OID: letters, digits, '.', '_' and '-' kept, others '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(value)) or "_"


def compute_define_type(var: VariableMeta) -> str:
    """Define-XML data type of a variable: text, integer (also SAS dates) or float."""
    if var.sas_format == "DATE9.":
        return "integer"
    if var.sas_type == "Char":
        return "text"
    return "integer" if var.data_type in {"integer", "bigint", "smallint", "int"} else "float"


def compute_text_length(values: pd.Series) -> int:
    """Length of a text variable: the longest value in UTF-8 bytes (at least 1, at most 200)."""
    lengths = [len(str(v).encode("utf-8")) for v in values if _present(v)]
    return max(1, min(200, max(lengths, default=1)))


def compute_significant_digits(values: pd.Series) -> int:
    """Decimal places of a float variable: the most any value has (0 when all are whole)."""
    digits = 0
    for v in values:
        if _present(v):
            exponent = Decimal(str(v)).normalize().as_tuple().exponent
            if isinstance(exponent, int):
                digits = max(digits, -exponent)
    return min(digits, 16)


def _present(value: object) -> bool:
    if value is None or value is pd.NaT:
        return False
    if isinstance(value, float) and value != value:
        return False
    return not (isinstance(value, str) and not value.strip())


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<tag><TranslatedText xml:lang="en">text</TranslatedText></tag>`` under parent."""
    el = etree.SubElement(parent, tag)
    tt = etree.SubElement(el, _odm("TranslatedText"))
    tt.set(f"{{{XML_NS}}}lang", "en")
    tt.text = text
    return el


def compute_define_xml(
    datasets: list[DefineDataset], study: str, source: str, created: dt.datetime | None = None
) -> bytes:
    """The define.xml document (UTF-8 bytes) of the exported datasets.

    Steps:
    1. ODM root (Snapshot, ODM 1.3.2, ``def:Context`` Submission), Study, GlobalVariables;
    2. MetaDataVersion with ``def:Standards`` (ADaMIG 1.3);
    3. value-level metadata of each BDS dataset (``_add_value_level``);
    4. per dataset an ItemGroupDef (keys, class, leaf) and per variable an ItemDef with its
       origin, method or comment and codelist;
    5. codelists (terms from the data), methods, comments, in that order (the schema's).
    """
    created = created or dt.datetime.now(dt.UTC)
    root = etree.Element(_odm("ODM"), nsmap=NSMAP)
    for key, value in (
        ("FileType", "Snapshot"),
        ("FileOID", f"DEFINE.{compute_oid_part(study)}.ADAM"),
        ("CreationDateTime", created.strftime("%Y-%m-%dT%H:%M:%S")),
        ("ODMVersion", "1.3.2"),
        ("Originator", "cfz-platform"),
        ("SourceSystem", "cfz-platform"),
        ("SourceSystemVersion", "0.1.0"),
    ):
        root.set(key, value)
    root.set(_def("Context"), "Submission")
    study_el = etree.SubElement(root, _odm("Study"), OID=f"STUDY.{compute_oid_part(study)}")
    gv = etree.SubElement(study_el, _odm("GlobalVariables"))
    etree.SubElement(gv, _odm("StudyName")).text = study
    etree.SubElement(gv, _odm("StudyDescription")).text = f"{study}: ADaM datasets ({source})"
    etree.SubElement(gv, _odm("ProtocolName")).text = study
    mdv = etree.SubElement(
        study_el,
        _odm("MetaDataVersion"),
        OID=f"MDV.{compute_oid_part(study)}.ADAMIG.{ADAMIG_VERSION}",
        Name=f"{study} ADaM datasets",
        Description=f"ADaM datasets of {study}, ADaMIG {ADAMIG_VERSION}",
    )
    mdv.set(_def("DefineVersion"), DEFINE_VERSION)
    standards = etree.SubElement(mdv, _def("Standards"))
    etree.SubElement(
        standards,
        _def("Standard"),
        OID=STANDARD_OID,
        Name="ADaMIG",
        Type="IG",
        Version=ADAMIG_VERSION,
        Status="Final",
    )
    book = _Book()
    value_lists = [_add_value_level(mdv, d, book) for d in datasets]
    for d in datasets:
        _add_item_group(mdv, d)
    for d, vl in zip(datasets, value_lists, strict=True):
        for var in d.meta.variables:
            _add_item_def(mdv, d, var, book, vl.get(var.name))
    for item in book.vlm_items:
        mdv.append(item)
    _add_codelists(mdv, datasets, book)
    for oid, (name, text) in book.methods.items():
        method = etree.SubElement(mdv, _odm("MethodDef"), OID=oid, Name=name, Type="Computation")
        _text(method, _odm("Description"), text)
    for oid, text in book.comments.items():
        _text(etree.SubElement(mdv, _def("CommentDef"), OID=oid), _odm("Description"), text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class _Book:
    """What the datasets share and the document lists once: methods, comments, codelists."""

    def __init__(self) -> None:
        self.methods: dict[str, tuple[str, str]] = {}
        self.comments: dict[str, str] = {}
        self.codelists: dict[str, list[tuple[DefineDataset, VariableMeta]]] = {}
        self.vlm_items: list[etree._Element] = []


def _item_oid(d: DefineDataset, var: VariableMeta) -> str:
    return f"IT.{d.meta.name.upper()}.{var.name.upper()}"


def _var(d: DefineDataset, name: str) -> VariableMeta | None:
    return next((v for v in d.meta.variables if v.name == name), None)


def _add_item_group(mdv: etree._Element, d: DefineDataset) -> None:
    name = d.meta.name.upper()
    group = etree.SubElement(
        mdv,
        _odm("ItemGroupDef"),
        OID=f"IG.{name}",
        Name=name,
        Repeating="No" if d.meta.adam_class == "SUBJECT LEVEL ANALYSIS DATASET" else "Yes",
        IsReferenceData="No",
        SASDatasetName=name,
        Purpose="Analysis",
    )
    group.set(_def("Structure"), d.meta.structure or "One record per row")
    group.set(_def("StandardOID"), STANDARD_OID)
    group.set(_def("ArchiveLocationID"), f"LF.{name}")
    _text(group, _odm("Description"), d.meta.label)
    for order, var in enumerate(d.meta.variables, start=1):
        ref = etree.SubElement(
            group,
            _odm("ItemRef"),
            ItemOID=_item_oid(d, var),
            OrderNumber=str(order),
            Mandatory="Yes" if var.name in d.meta.keys else "No",
        )
        if var.name in d.meta.keys:
            ref.set("KeySequence", str(d.meta.keys.index(var.name) + 1))
        if var.origin == "Derived":
            ref.set("MethodOID", _method_oid(d, var))
    cls = etree.SubElement(group, _def("Class"), Name=d.meta.adam_class)
    if d.meta.adam_subclass:
        etree.SubElement(cls, _def("SubClass"), Name=d.meta.adam_subclass)
    leaf = etree.SubElement(group, _def("leaf"), ID=f"LF.{name}")
    leaf.set(f"{{{XLINK_NS}}}href", d.file)
    etree.SubElement(leaf, _def("title")).text = d.file


def _method_oid(d: DefineDataset, var: VariableMeta) -> str:
    return f"MT.{d.meta.name.upper()}.{var.name.upper()}"


def _add_item_def(
    mdv: etree._Element,
    d: DefineDataset,
    var: VariableMeta,
    book: _Book,
    value_list: str | None,
    oid: str | None = None,
    values: pd.Series | None = None,
    description: str | None = None,
) -> etree._Element:
    """One ItemDef: type, length, display format, description, codelist, origin, value list."""
    values = d.frame[var.name] if values is None else values
    kind = compute_define_type(var)
    item = etree.Element(_odm("ItemDef"), OID=oid or _item_oid(d, var), Name=var.name.upper())
    item.set("DataType", kind)
    item.set("Length", str(compute_text_length(values) if kind == "text" else NUMERIC_LENGTH))
    if kind == "float":
        item.set("SignificantDigits", str(compute_significant_digits(values)))
    item.set("SASFieldName", var.name.upper())
    if var.sas_format:
        item.set(_def("DisplayFormat"), var.sas_format)
    if var.origin in ("Assigned", "Collected"):
        comment = f"COM.{d.meta.name.upper()}.{var.name.upper()}"
        book.comments[comment] = var.derivation
        item.set(_def("CommentOID"), comment)
    _text(item, _odm("Description"), description or var.label)
    if var.codelist and oid is None:
        etree.SubElement(item, _odm("CodeListRef"), CodeListOID=_codelist_oid(var.codelist))
        book.codelists.setdefault(var.codelist, []).append((d, var))
    origin = etree.SubElement(item, _def("Origin"), Type=var.origin)
    if var.origin == "Predecessor":
        _text(origin, _odm("Description"), var.derivation)
    elif var.origin in ("Derived", "Assigned"):
        origin.set("Source", "Sponsor")
    elif var.origin == "Collected":
        origin.set("Source", "Investigator")
    if var.origin == "Derived" and oid is None:
        book.methods[_method_oid(d, var)] = (
            f"Algorithm for {d.meta.name.upper()}.{var.name.upper()}",
            var.derivation,
        )
    if value_list:
        etree.SubElement(item, _def("ValueListRef"), ValueListOID=value_list)
    if oid is None:
        mdv.append(item)
    return item


def _add_value_level(mdv: etree._Element, d: DefineDataset, book: _Book) -> dict[str, str]:
    """Value-level metadata of a BDS dataset: per PARAMCD value a WhereClauseDef and, on AVAL
    (and AVALC when that parameter has values), a ValueListDef item. Returns ``{variable:
    ValueListDef OID}``."""
    if d.meta.adam_class != "BASIC DATA STRUCTURE" or _var(d, "paramcd") is None:
        return {}
    name = d.meta.name.upper()
    frame = d.frame
    params = (
        frame.groupby("paramcd", sort=True)["param"].first()
        if "param" in frame
        else pd.Series({p: p for p in sorted(frame["paramcd"].dropna().unique())})
    )
    out: dict[str, str] = {}
    for var_name in ("aval", "avalc"):
        var = _var(d, var_name)
        if var is None:
            continue
        present = frame[frame[var_name].map(_present)]
        codes = [p for p in params.index if (present["paramcd"] == p).any()]
        if not codes:
            continue
        vl_oid = f"VL.{name}.{var_name.upper()}"
        vl = etree.Element(_def("ValueListDef"), OID=vl_oid)
        for order, code in enumerate(codes, start=1):
            part = compute_oid_part(code)
            item_oid = f"IT.{name}.{var_name.upper()}.{part}"
            ref = etree.SubElement(
                vl, _odm("ItemRef"), ItemOID=item_oid, OrderNumber=str(order), Mandatory="No"
            )
            if var.origin == "Derived":
                ref.set("MethodOID", _method_oid(d, var))
            etree.SubElement(ref, _def("WhereClauseRef"), WhereClauseOID=f"WC.{name}.{part}")
            rows = present.loc[present["paramcd"] == code, var_name]
            book.vlm_items.append(
                _add_item_def(
                    mdv,
                    d,
                    var,
                    book,
                    None,
                    oid=item_oid,
                    values=rows,
                    description=f"{var.label}: {params[code]}",
                )
            )
        mdv.append(vl)
        out[var_name] = vl_oid
    for code in params.index:
        part = compute_oid_part(code)
        if mdv.find(f"{{{DEF_NS}}}WhereClauseDef[@OID='WC.{name}.{part}']") is not None:
            continue
        wc = etree.Element(_def("WhereClauseDef"), OID=f"WC.{name}.{part}")
        check = etree.SubElement(wc, _odm("RangeCheck"), Comparator="EQ", SoftHard="Soft")
        check.set(_def("ItemOID"), f"IT.{name}.PARAMCD")
        etree.SubElement(check, _odm("CheckValue")).text = str(code)
        mdv.append(wc)
    _order_preinclude(mdv)
    return out


def _order_preinclude(mdv: etree._Element) -> None:
    """Keep the schema's order: Standards, every ValueListDef, then every WhereClauseDef."""
    value_lists = mdv.findall(_def("ValueListDef"))
    where = mdv.findall(_def("WhereClauseDef"))
    for el in (*value_lists, *where):
        mdv.remove(el)
    anchor = mdv.find(_def("Standards"))
    index = list(mdv).index(anchor) + 1
    for offset, el in enumerate((*value_lists, *where)):
        mdv.insert(index + offset, el)


def _codelist_oid(name: str) -> str:
    return f"CL.{compute_oid_part(name)}"


def _add_codelists(mdv: etree._Element, datasets: list[DefineDataset], book: _Book) -> None:
    """One CodeList per codelist name: the sorted values of every variable that uses it, with
    their decodes (CodeListItem) when a decoding column is named, else EnumeratedItem."""
    for name in sorted(book.codelists):
        users = book.codelists[name]
        terms: dict[str, str | None] = {}
        for d, var in users:
            columns = [var.name, var.decode] if var.decode else [var.name]
            for row in d.frame[columns].drop_duplicates().itertuples(index=False):
                if _present(row[0]):
                    decode = str(row[1]) if var.decode and _present(row[1]) else None
                    terms.setdefault(_term(row[0]), decode)
        kind = compute_define_type(users[0][1])
        cl = etree.SubElement(
            mdv, _odm("CodeList"), OID=_codelist_oid(name), Name=name, DataType=kind
        )
        if not terms:
            terms = {"": None}
        decoded = any(v is not None for v in terms.values())
        for order, value in enumerate(_sorted_terms(terms, kind), start=1):
            if decoded:
                cli = etree.SubElement(
                    cl, _odm("CodeListItem"), CodedValue=value, OrderNumber=str(order)
                )
                _text(cli, _odm("Decode"), terms[value] or value)
            else:
                etree.SubElement(
                    cl, _odm("EnumeratedItem"), CodedValue=value, OrderNumber=str(order)
                )


def _term(value: object) -> str:
    """A codelist term: numbers without a trailing .0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def _sorted_terms(terms: dict[str, str | None], kind: str) -> list[str]:
    if kind in ("integer", "float"):
        return sorted(terms, key=lambda t: float(t) if t else float("-inf"))
    return sorted(terms)


def write_define_xml(datasets: list[DefineDataset], out_dir: Path, study: str, source: str) -> Path:
    """Write ``define.xml`` into ``out_dir``; return its path."""
    path = out_dir / "define.xml"
    path.write_bytes(compute_define_xml(datasets, study, source))
    return path
