"""Assemble the static HTML report: run every section builder and render one page.

The page is self-contained: CSS inline, figures as base64 PNG, no script, and a
Content-Security-Policy that forbids any network fetch, so it opens from disk anywhere.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jinja2
import psycopg
from markupsafe import Markup

from cfz_platform.report.data import ReportData
from cfz_platform.report.figures import Figure
from cfz_platform.report.items import Section, Table
from cfz_platform.report.marts import MartReader, Unavailable
from cfz_platform.report.run_status import compute_nightly_failure
from cfz_platform.report.sections import (
    adverse_events,
    concomitant_medications,
    concordance,
    data_quality,
    disposition,
    eligibility,
    endpoints,
    flow,
    labs,
    medical_history,
    model,
    performance_status,
    response,
    safety,
    vital_signs,
)
from cfz_platform.staged_output import staged_output

log = logging.getLogger(__name__)

# (id, title, where it comes from, builder): the order of the report.
SECTIONS = [
    (
        "consort",
        "Subject flow (CONSORT)",
        "marts.dim_subject, marts.fct_eligibility",
        flow.build_consort,
    ),
    ("baseline", "Baseline characteristics by group", "marts.dim_subject", flow.build_baseline),
    (
        "dose-escalation",
        "Dose escalation, DLTs and MTD",
        "marts.fct_dose_escalation",
        safety.build_dose_escalation,
    ),
    ("endpoints", "Study endpoints", "marts.rpt_study_endpoints", endpoints.build_endpoints),
    (
        "swimmer",
        "Swimmer plot",
        "marts.dim_subject, marts.fct_response_assessments",
        response.build_swimmer,
    ),
    (
        "waterfall",
        "Waterfall: best % change in M-protein",
        "marts.fct_response_assessments",
        response.build_waterfall,
    ),
    ("spider", "Spider plot", "marts.fct_response_assessments", response.build_spider),
    ("concordance", concordance.TITLE, concordance.SOURCE, concordance.build_concordance),
    (
        "km",
        "Kaplan-Meier: TTP, PFS, OS and maintenance PFS",
        "marts.rpt_survival_curves",
        endpoints.build_km,
    ),
    (
        "adverse-events",
        "Adverse events",
        adverse_events.SOURCE,
        adverse_events.build_adverse_events,
    ),
    (
        "performance-status",
        performance_status.TITLE,
        performance_status.SOURCE,
        performance_status.build_performance_status,
    ),
    (
        "medical-history",
        medical_history.TITLE,
        medical_history.SOURCE,
        medical_history.build_medical_history,
    ),
    ("disposition", disposition.TITLE, disposition.SOURCE, disposition.build_disposition),
    (vital_signs.SECTION_ID, vital_signs.TITLE, vital_signs.SOURCE, vital_signs.build_vital_signs),
    (
        concomitant_medications.SECTION_ID,
        concomitant_medications.TITLE,
        concomitant_medications.SOURCE,
        concomitant_medications.build_concomitant_medications,
    ),
    ("lab-shift", "Lab toxicity shift (CTCAE v5)", "marts.fct_lab_results", labs.build_lab_shift),
    ("eligibility", "Eligibility failures", "marts.fct_eligibility", eligibility.build_eligibility),
    ("data-quality", "Data quality", data_quality.SOURCE, data_quality.build_data_quality),
    ("model", "Early-response model (C1D15)", model.PREDICTIONS, model.build_model),
]
SECTION_IDS = [s[0] for s in SECTIONS]


def build_sections(reader: MartReader) -> list[Section]:
    """Run each builder; a missing/empty mart (or a mart lacking a column) becomes a
    'not available' section with the reason, never an exception.

    Steps: 1. share one ReportData cache; 2. per builder, catch Unavailable and database
    errors and keep the reason (each section's seconds at debug level: ``cfz -v report``);
    3. return the sections in report order.
    """
    data = ReportData(reader)
    built = []
    for sid, title, source, builder in SECTIONS:
        started = time.perf_counter()
        try:
            built.append(builder(data))
        except Unavailable as exc:
            built.append(Section(sid, title, source, unavailable=str(exc)))
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            log.warning("section %s: database error: %s", sid, reason)
            built.append(
                Section(
                    sid, title, source, unavailable=f"database error reading {source}: {reason}"
                )
            )
        log.debug("section %s: %.1f s", sid, time.perf_counter() - started)
    return built


#: A logical schema named in a source or caption text ("marts.dim_subject", "ml.x").
_SCHEMA_IN_TEXT = re.compile(r"(?<![\w.])(marts|ml)\.(?=\w)")
CUT_QUALITY_NOTE = (
    "<p data-cut-live>This report is of an analysis cut, but data quality is read live from "
    "<code>audit.*</code> (the warehouse as it is now, not frozen with the cut).</p>"
)


def compute_cut_text(text: str, schemas: dict[str, str]) -> str:
    """``text`` with each logical schema it names (``marts.``, ``ml.``) replaced by the
    mapped one (an analysis cut's); Markup stays Markup (a schema name needs no escaping)."""
    if not schemas or not isinstance(text, str):
        return text
    out = _SCHEMA_IN_TEXT.sub(lambda m: f"{schemas.get(m.group(1), m.group(1))}.", text)
    return Markup(out) if isinstance(text, Markup) else out


def derive_cut_sections(sections_: list[Section], schemas: dict[str, str]) -> list[Section]:
    """The sections as a cut's report shows them.

    Steps: 1. in each section's source, unavailable reason, table and figure captions and
    text items, name the schema really read (``compute_cut_text``); 2. the data-quality
    section (read live from ``audit.*``) says so.
    """
    out = []
    for s in sections_:
        items = []
        for item in s.items:
            if isinstance(item, Table | Figure):
                item = dataclasses.replace(item, caption=compute_cut_text(item.caption, schemas))
            else:
                item = compute_cut_text(item, schemas)
            items.append(item)
        if s.id == "data-quality" and s.unavailable is None:
            items.insert(0, Markup(CUT_QUALITY_NOTE))
        source = compute_cut_text(s.source, schemas)
        if s.id == "data-quality":
            source = f"{source} (live, not frozen with the cut)"
        unavailable = compute_cut_text(s.unavailable, schemas) if s.unavailable else None
        out.append(dataclasses.replace(s, source=source, items=items, unavailable=unavailable))
    return out


def _data_as_of(reader: MartReader) -> str:
    if not reader.exists("audit", "ingest_files"):
        return "unknown (no ingestion ledger)"
    row = reader.frame(
        "select max(delivery_id) as d from audit.ingest_files where status = 'loaded'"
    )
    value = row["d"].iloc[0] if not row.empty else None
    return f"delivery {value}" if value else "no delivery loaded"


def render(sections_: list[Section], meta: dict) -> str:
    """Render the page from the package template (autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cfz_platform.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    css = resources.files("cfz_platform.report").joinpath("templates/report.css").read_text()
    template = env.get_template("report.html.j2")
    return template.render(
        sections=sections_, meta=meta, css=css, Table=Table, Figure=Figure, isinstance=isinstance
    )


class ReportCutError(RuntimeError):
    """The cut asked for is not recorded; the message (one line) says what to do."""


def build_report(out_dir: Path, cut: str | None = None) -> Path:
    """Build the report from the warehouse (marts, audit and ml schemas), or from the frozen
    schemas of the analysis cut ``cut``; return the index.html path.

    Steps: 1. connect as the owner (autocommit: one failing query never poisons the next);
    for a cut, read it from ``audit.analysis_cuts`` (else ``ReportCutError``) and read
    ``marts`` and ``ml`` from its schema (``MartReader`` schema map); 2. build every section,
    and, live, read whether the latest nightly failed (the page then says so at its top,
    with the time and watermark of the build it shows); a cut's sections name its schema and
    the page header names the cut (``derive_cut_sections``); 3. render the template;
    4. write ``index.html`` into a new folder beside ``out_dir`` and rename it into place
    (``staged_output``: a symbolic link planted at ``out_dir/index.html`` is replaced, never
    followed).
    """
    from cfz_platform.db import warehouse

    out_dir = Path(out_dir)
    with warehouse.connect(autocommit=True) as conn:
        frozen = _read_cut(conn, cut) if cut else None
        schemas = {"marts": frozen.marts_schema, "ml": frozen.marts_schema} if frozen else {}
        reader = MartReader(conn, schemas=schemas)
        built = build_sections(reader)
        if frozen:
            built = derive_cut_sections(built, schemas)
        meta = {
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "warehouse": warehouse.settings().dbname,
            "as_of": (
                f"delivery {frozen.through_delivery} and clinical cutoff {frozen.cutoff}"
                if frozen
                else _data_as_of(reader)
            ),
            "n_available": sum(s.unavailable is None for s in built),
            "n_sections": len(built),
            "nightly_failure": None if frozen else compute_nightly_failure(reader),
            "cut": _cut_meta(frozen) if frozen else None,
        }
    html = render(built, meta)
    index = out_dir / "index.html"
    with staged_output(out_dir) as stage:  # a link planted at index.html is replaced, not followed
        (stage / index.name).write_text(html, encoding="utf-8")
    log.info(
        "report written to %s (%d of %d sections available)",
        index,
        meta["n_available"],
        meta["n_sections"],
    )
    return index


def _read_cut(conn: psycopg.Connection, name: str):
    from cfz_platform.transform.cut import read_cut

    found = read_cut(conn, name)
    if found is None:
        raise ReportCutError(f"there is no cut {name!r}: `cfz cut list` shows the cuts")
    return found


def _cut_meta(cut) -> dict:
    """What the page header says of a cut: name, cutoff, last delivery, when made, schemas
    and the model version that scored it."""
    return {
        "name": cut.name,
        "cutoff": cut.cutoff.isoformat(),
        "through_delivery": cut.through_delivery,
        "made_at": f"{cut.made_at:%Y-%m-%d %H:%M %Z}" if cut.made_at else "unknown",
        "marts_schema": cut.marts_schema,
        "adam_schema": cut.adam_schema,
        "model": cut.model_version or "none (no champion model when the cut was made)",
    }
