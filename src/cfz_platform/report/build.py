"""Assemble the static HTML report: run every section builder and render one page.

The page is self-contained: CSS inline, figures as base64 PNG, no script, and a
Content-Security-Policy that forbids any network fetch, so it opens from disk anywhere.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jinja2
import psycopg

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
    errors and keep the reason; 3. return the sections in report order.
    """
    data = ReportData(reader)
    built = []
    for sid, title, source, builder in SECTIONS:
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
    return built


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


def build_report(out_dir: Path) -> Path:
    """Build the report from the warehouse (marts, audit and ml schemas); return the index.html path.

    Steps: 1. connect as the owner (autocommit: one failing query never poisons the next);
    2. build every section, and read whether the latest nightly failed (the page then says
    so at its top, with the time and watermark of the build it shows); 3. render the
    template; 4. write ``index.html`` into a new folder beside ``out_dir`` and rename it into
    place (``staged_output``: a symbolic link planted at ``out_dir/index.html`` is replaced,
    never followed).
    """
    from cfz_platform.db import warehouse

    out_dir = Path(out_dir)
    with warehouse.connect(autocommit=True) as conn:
        reader = MartReader(conn)
        built = build_sections(reader)
        meta = {
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "warehouse": warehouse.settings().dbname,
            "as_of": _data_as_of(reader),
            "n_available": sum(s.unavailable is None for s in built),
            "n_sections": len(built),
            "nightly_failure": compute_nightly_failure(reader),
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
