"""``cfz export adam --out DIR``: the published ADaM datasets as SAS XPORT v5 plus metadata.

Choices:
- the source is the published ``adam`` schema (what passed the mart gate), never a candidate;
- one ``<dataset>.xpt`` per dataset (pyreadstat, XPORT version 5): variable names upper case
  (at most 8 characters), labels from the dbt YAML (at most 40), dates as SAS dates with the
  DATE9. format, numbers as doubles, text as character (at most 200 bytes, the v5 limit);
- an **empty dataset is not written** (regulators do not want empty datasets): it is listed
  in the metadata as ``empty`` with the reason from ``adam.adam_datasets`` (e.g. ADRS and
  ADTTE on a study without myeloma response data), and the command says so on one line;
- a **missing dataset** (the ``adam`` schema or a table absent: nothing published yet, or a
  build older than the ADaM layer) stops the export with one line naming what to do;
- ``define.xml`` (Define-XML 2.1, ``define_xml``) describes the written datasets for a
  submission: classes, structures, keys, lengths, origins, methods, codelists, value-level
  metadata and links to the XPT files;
- ``define.json`` and ``define.html`` list datasets, variables, labels, types, formats and the
  derivation of each variable (from the dbt YAML that dbt also persists as comments).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from cfz_platform.export.define_xml import DefineDataset, write_define_xml
from cfz_platform.export.metadata import ADAM_DATASETS, DatasetMeta, load_adam_metadata
from cfz_platform.staged_output import staged_output

#: XPORT v5 character values hold at most 200 bytes.
MAX_CHAR_BYTES = 200
PUBLISHED_SCHEMA = "adam"


class AdamExportError(RuntimeError):
    """The export cannot run; the message (one line) says what to do."""


@dataclass
class DatasetExport:
    """What happened to one dataset."""

    name: str
    status: str  # written | empty
    records: int
    path: Path | None = None
    reason: str | None = None


@dataclass
class ExportResult:
    """Files written by one export."""

    out_dir: Path
    datasets: list[DatasetExport] = field(default_factory=list)
    metadata_json: Path | None = None
    metadata_html: Path | None = None
    define_xml: Path | None = None

    def lines(self) -> list[str]:
        out = []
        for d in self.datasets:
            if d.status == "written":
                out.append(f"{d.name.upper()}: {d.records} records -> {d.path}")
            else:
                out.append(f"{d.name.upper()}: empty, not written ({d.reason})")
        out.append(f"Define-XML 2.1: {self.define_xml}")
        out.append(f"metadata: {self.metadata_json} and {self.metadata_html}")
        return out


def export_adam(
    conn: psycopg.Connection,
    out_dir: Path,
    schema: str = PUBLISHED_SCHEMA,
    stamp: dt.datetime | None = None,
) -> ExportResult:
    """Export every ADaM dataset of ``schema`` into ``out_dir``.

    ``stamp`` (an analysis cut's: its cutoff date) fixes the created/modified datetimes of
    the XPT headers, so the same data gives the same bytes (``compute_fixed_xpt_header``);
    without it they are the time of writing.

    Steps:
    1. read the metadata (dbt YAML) and check that ``schema`` and each dataset table exist
       (else ``AdamExportError`` naming the missing one and `cfz transform`);
    2. per dataset: read it (ordered by its key columns); empty -> record the reason from
       ``adam_datasets``; else shape it for XPORT (``derive_xpt_frame``) and write it;
    3. write ``define.xml`` (the written datasets, ``write_define_xml``), ``define.json`` and
       ``define.html``.
    Every file is written into a new folder beside ``out_dir`` and renamed into place
    (``staged_output``): a symbolic link planted in ``out_dir`` is replaced, never followed.
    """
    meta = load_adam_metadata()
    _check_present(conn, schema)
    reasons = _empty_reasons(conn, schema)
    result = ExportResult(out_dir=out_dir)
    written: list[DefineDataset] = []
    with staged_output(out_dir) as stage:
        for name in ADAM_DATASETS:
            ds = meta[name]
            frame = _read_dataset(conn, schema, ds)
            if frame.empty:
                result.datasets.append(
                    DatasetExport(name, "empty", 0, reason=reasons.get(name.upper(), "no records"))
                )
                continue
            write_xpt(derive_xpt_frame(frame, ds), ds, stage / f"{name}.xpt", stamp)
            result.datasets.append(
                DatasetExport(name, "written", len(frame), path=out_dir / f"{name}.xpt")
            )
            written.append(DefineDataset(ds, frame, f"{name}.xpt"))
        study = (
            next((str(x) for x in written[0].frame["studyid"] if x), "STUDY")
            if written
            else "STUDY"
        )
        define_path = write_define_xml(written, stage, study, f"schema {schema}")
        json_path, html_path = write_metadata(meta, result, stage, schema)
    result.define_xml = out_dir / define_path.name
    result.metadata_json, result.metadata_html = out_dir / json_path.name, out_dir / html_path.name
    return result


def _check_present(conn: psycopg.Connection, schema: str) -> None:
    if conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone() is None:
        raise AdamExportError(
            f"schema {schema!r} does not exist: run `cfz transform` to build and publish the ADaM datasets"
        )
    for name in (*ADAM_DATASETS, "adam_datasets"):
        if conn.execute("select to_regclass(%s)", (f"{schema}.{name}",)).fetchone()[0] is None:
            raise AdamExportError(
                f"dataset {name.upper()} is missing from schema {schema!r}: run `cfz transform` to rebuild and publish it"
            )


def _empty_reasons(conn: psycopg.Connection, schema: str) -> dict[str, str]:
    rows = conn.execute(
        sql.SQL("select dataset, reason from {} where reason is not null").format(
            sql.Identifier(schema, "adam_datasets")
        )
    ).fetchall()
    return dict(rows)


def _read_dataset(conn: psycopg.Connection, schema: str, ds: DatasetMeta) -> pd.DataFrame:
    """The dataset's rows ordered by its key columns, then by every other column (a total
    order: the same rows are always written in the same order)."""
    cols = [v.name for v in ds.variables]
    keys = [
        c for c in ("usubjid", "paramcd", "aeseq", "adt", "astdt", "aseq", "srckey") if c in cols
    ]
    order = keys + [c for c in cols if c not in keys]
    query = sql.SQL("select {} from {} order by {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        sql.Identifier(schema, ds.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in order) if order else sql.SQL("1"),
    )
    with conn.cursor() as cur:
        cur.execute(query)
        rows = cur.fetchall()
    return pd.DataFrame(rows, columns=cols)


def derive_xpt_frame(frame: pd.DataFrame, ds: DatasetMeta) -> pd.DataFrame:
    """The dataset as pyreadstat writes it: frame -> frame with XPORT-ready columns.

    Steps: numbers -> float64 (null -> NaN); dates -> SAS dates (days since 1960-01-01 as
    float64, null -> NaN; written with the DATE9. format, so an all-null date column stays
    numeric); text -> str (null -> ''), cut to 200 bytes; names upper case.
    """
    out = pd.DataFrame(index=frame.index)
    for v in ds.variables:
        col = frame[v.name]
        if v.sas_format == "DATE9.":
            out[v.name.upper()] = pd.Series(
                [compute_sas_date(d) for d in col], index=frame.index, dtype="float64"
            )
        elif v.sas_type == "Num":
            out[v.name.upper()] = pd.to_numeric(col, errors="coerce").astype("float64")
        else:
            out[v.name.upper()] = [compute_xpt_text(x) for x in col]
    return out


SAS_EPOCH = dt.date(1960, 1, 1)


def compute_sas_date(value: object) -> float:
    """A date as a SAS date value (days since 1960-01-01); NaN when null."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return float((value - SAS_EPOCH).days)
    return float("nan")


def compute_xpt_text(value: object) -> str:
    """A text value for XPORT v5: '' for null, at most 200 bytes of UTF-8 (cut on a character)."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return ""
    text = str(value)
    raw = text.encode("utf-8")
    if len(raw) <= MAX_CHAR_BYTES:
        return text
    return raw[:MAX_CHAR_BYTES].decode("utf-8", errors="ignore")


def write_xpt(
    frame: pd.DataFrame, ds: DatasetMeta, path: Path, stamp: dt.datetime | None = None
) -> None:
    """Write one XPORT v5 file: table name and label, column labels, DATE9. on dates; with
    ``stamp``, its header datetimes are set to it (``compute_fixed_xpt_header``)."""
    import pyreadstat

    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=ds.label,
        table_name=ds.name.upper(),
        column_labels={v.name.upper(): v.label for v in ds.variables},
        variable_format={v.name.upper(): v.sas_format for v in ds.variables if v.sas_format},
        file_format_version=5,
    )
    if stamp is not None:
        path.write_bytes(compute_fixed_xpt_header(path.read_bytes(), stamp))


#: An XPORT header datetime, ``ddMMMyy:hh:mm:ss`` (16 characters).
_XPT_DATETIME = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
#: Byte offsets of the header datetimes of a one-member XPORT v5 file (80-byte records): the
#: library's created (record 2, columns 65-80) and modified (record 3, 1-16), the member's
#: created (record 6, 65-80) and modified (record 7, 1-16).
_XPT_DATETIME_OFFSETS = (80 + 64, 160, 400 + 64, 480)


def compute_fixed_xpt_header(data: bytes, stamp: dt.datetime) -> bytes:
    """An XPORT v5 file's bytes with its header datetimes (the library's and the member's
    created and modified fields) set to ``stamp``.

    Steps: 1. ``stamp`` as ``ddMMMyy:hh:mm:ss`` (month upper case, as SAS writes it);
    2. at each header datetime offset (``_XPT_DATETIME_OFFSETS``) that holds a datetime,
    write it; nothing else changes (the observations are never touched).
    """
    fixed = stamp.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    out = bytearray(data)
    for at in _XPT_DATETIME_OFFSETS:
        if _XPT_DATETIME.fullmatch(bytes(out[at : at + 16])):
            out[at : at + 16] = fixed
    return bytes(out)


def compute_metadata(meta: dict[str, DatasetMeta], result: ExportResult, schema: str) -> dict:
    """The export's metadata document (what define.json holds)."""
    by_name = {d.name: d for d in result.datasets}
    datasets = []
    for name in ADAM_DATASETS:
        ds, done = meta[name], by_name.get(name)
        datasets.append(
            {
                "dataset": name.upper(),
                "label": ds.label,
                "description": ds.description,
                "records": done.records if done else None,
                "status": done.status if done else None,
                "reason_empty": done.reason if done else None,
                "file": done.path.name if done and done.path else None,
                "variables": [
                    {
                        "name": v.name.upper(),
                        "label": v.label,
                        "type": v.sas_type,
                        "source_type": v.data_type,
                        "format": v.sas_format,
                        "derivation": v.derivation,
                    }
                    for v in ds.variables
                ],
            }
        )
    return {
        "standard": "CDISC ADaM",
        "format": "SAS XPORT version 5 (pyreadstat)",
        "source_schema": schema,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "datasets": datasets,
    }


def write_metadata(
    meta: dict[str, DatasetMeta], result: ExportResult, out_dir: Path, schema: str
) -> tuple[Path, Path]:
    """Write define.json and define.html; return their paths."""
    doc = compute_metadata(meta, result, schema)
    json_path, html_path = out_dir / "define.json", out_dir / "define.html"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    html_path.write_text(compute_metadata_html(doc))
    return json_path, html_path


def compute_metadata_html(doc: dict) -> str:
    """A readable, self-contained HTML page of the metadata document."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>ADaM datasets</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#eee}"
        ".empty{color:#a40}</style></head><body>",
        f"<h1>ADaM datasets</h1><p>{e(doc['format'])}; source schema <code>{e(doc['source_schema'])}</code>; "
        f"generated {e(doc['generated_at'])}.</p>",
        "<table><tr><th>dataset</th><th>label</th><th>records</th><th>file</th><th>status</th></tr>",
    ]
    for d in doc["datasets"]:
        status = e(d["status"] or "")
        if d["status"] == "empty":
            status = f"<span class='empty'>empty: {e(d['reason_empty'] or '')}</span>"
        parts.append(
            f"<tr><td><a href='#{e(d['dataset'])}'>{e(d['dataset'])}</a></td><td>{e(d['label'])}</td>"
            f"<td>{d['records'] if d['records'] is not None else ''}</td><td>{e(d['file'] or '')}</td><td>{status}</td></tr>"
        )
    parts.append("</table>")
    for d in doc["datasets"]:
        parts.append(
            f"<h2 id='{e(d['dataset'])}'>{e(d['dataset'])}: {e(d['label'])}</h2><p>{e(d['description'])}</p>"
        )
        parts.append(
            "<table><tr><th>variable</th><th>label</th><th>type</th><th>format</th><th>derivation</th></tr>"
        )
        for v in d["variables"]:
            parts.append(
                f"<tr><td>{e(v['name'])}</td><td>{e(v['label'])}</td><td>{e(v['type'])}</td>"
                f"<td>{e(v['format'] or '')}</td><td>{e(v['derivation'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)
