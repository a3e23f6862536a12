"""Frozen analysis cuts (domain.md "Analysis data cuts"): ``cfz cut create / list / verify``.

A cut is the marts and ADaM datasets of the data delivered up to a named delivery and dated
up to a clinical cutoff, frozen in a ``bi_reader``-readable schema pair ``cut_<name>`` /
``cut_<name>_adam`` and recorded in ``audit.analysis_cuts``. It never changes: creating an
existing name is refused; a rebuild (``verify_cut``, or a new name with the same cutoff and
delivery) reads the same raw history and must give the same XPT bytes.

How it is built (the same dbt project and gates as the live build):
- dbt target ``cut`` (schemas ``cut_build_staging``, ``cut_build_marts``,
  ``cut_build_marts_adam``: beside the live ones, never touching them), a full build with
  vars ``cut_cutoff`` / ``cut_through_delivery`` (``macros/analysis_cut.sql`` applies them
  where raw is read) and the raw watermark ``raw_through_file_id`` recorded with the cut;
- the endpoint tables, then the mart gate on the built schemas; a blocking failure stops
  the cut (nothing is kept);
- the ADaM XPTs are written with the cutoff as their header datetime
  (``export.adam.compute_fixed_xpt_header``), their md5 recorded;
- the champion of the early-response model scores the cut's ``fct_ml_features`` into the
  built marts (``ml.cut_scores``: ``early_response_predictions`` and the validation rows the
  report shows); no champion: the cut has no scores and says so;
- one transaction renames the built schemas to the cut's, grants ``bi_reader`` and records
  the cut (with the model version that scored it);
- ``cfz cut create`` then writes the cut's report from the frozen schemas
  (``report.build_report(out, cut=name)``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from cfz_platform.config import adam_schema_for
from cfz_platform.db import warehouse

log = logging.getLogger(__name__)

#: dbt target of a cut build; its schemas are ``cut_build_<schema>`` (generate_schema_name).
CUT_TARGET = "cut"
BUILD_PREFIX = "cut_build"
BUILD_MARTS = f"{BUILD_PREFIX}_marts"
BUILD_ADAM = adam_schema_for(BUILD_MARTS)
#: Every schema a cut build writes (dropped before and after each build).
BUILD_SCHEMAS = (BUILD_MARTS, BUILD_ADAM, f"{BUILD_PREFIX}_staging", f"{BUILD_PREFIX}_audit")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

CUTS_DDL = """
create table if not exists audit.analysis_cuts (
    name text primary key,
    cutoff date not null,
    through_delivery text not null,
    through_file_id bigint not null,
    made_at timestamptz not null default now(),
    marts_schema text not null,
    adam_schema text not null,
    datasets jsonb not null  -- {"adsl": {"records": n, "md5": "..."}, ...}: the cut's XPTs
)
"""
#: Added after the first cuts were made: the early-response model version that scored the
#: cut (null: no champion when it was made).
CUTS_UPGRADE = "alter table audit.analysis_cuts add column if not exists model_version text"
CUT_COLUMNS = "name, cutoff, through_delivery, through_file_id, made_at, datasets, model_version"


class CutError(RuntimeError):
    """A cut cannot be made or read; the message (one line) says what to do."""


@dataclass(frozen=True)
class Cut:
    """One analysis cut as ``audit.analysis_cuts`` records it."""

    name: str
    cutoff: dt.date
    through_delivery: str
    through_file_id: int
    made_at: dt.datetime | None = None
    datasets: dict = field(default_factory=dict)
    model_version: str | None = None

    @property
    def marts_schema(self) -> str:
        return compute_cut_schemas(self.name)[0]

    @property
    def adam_schema(self) -> str:
        return compute_cut_schemas(self.name)[1]

    @property
    def stamp(self) -> dt.datetime:
        """The XPT header datetime of the cut's files: its cutoff at midnight."""
        return dt.datetime.combine(self.cutoff, dt.time())


def compute_cut_schemas(name: str) -> tuple[str, str]:
    """``name`` -> (``cut_<name>``, ``cut_<name>_adam``); a name that is not lower-case
    letters, digits and underscores (starting with a letter, at most 40) is a ``CutError``."""
    if not NAME_PATTERN.match(name):
        raise CutError(
            f"cut name {name!r} is not allowed: use lower-case letters, digits and underscores, "
            "starting with a letter (at most 40 characters), e.g. interim1"
        )
    return f"cut_{name}", f"cut_{name}_adam"


def ensure_table(conn: psycopg.Connection) -> None:
    """Create ``audit.analysis_cuts`` when missing; add ``model_version`` to an older one."""
    conn.execute("create schema if not exists audit")
    conn.execute(CUTS_DDL)
    conn.execute(CUTS_UPGRADE)


def read_cut(conn: psycopg.Connection, name: str) -> Cut | None:
    """The recorded cut ``name``, or None."""
    ensure_table(conn)
    row = conn.execute(
        f"select {CUT_COLUMNS} from audit.analysis_cuts where name = %s",
        (name,),
    ).fetchone()
    return Cut(*row) if row else None


def list_cuts(conn: psycopg.Connection) -> list[Cut]:
    """Every recorded cut, oldest first."""
    ensure_table(conn)
    rows = conn.execute(
        f"select {CUT_COLUMNS} from audit.analysis_cuts order by made_at, name"
    ).fetchall()
    return [Cut(*r) for r in rows]


def resolve_delivery(conn: psycopg.Connection, through_file_id: int, delivery: str | None) -> str:
    """The last delivery a new cut reads: ``delivery`` when it was loaded (through the
    watermark), else the latest loaded delivery; ``CutError`` when there is none."""
    if delivery is None:
        row = conn.execute(
            "select max(delivery_id) from audit.ingest_files "
            "where status = 'loaded' and file_id <= %s",
            (through_file_id,),
        ).fetchone()
        if row[0] is None:
            raise CutError(
                "nothing is loaded in the warehouse yet: load a delivery with "
                "`cfz ingest --landing DIR` first"
            )
        return row[0]
    row = conn.execute(
        "select 1 from audit.ingest_files where status = 'loaded' and delivery_id = %s "
        "and file_id <= %s limit 1",
        (delivery, through_file_id),
    ).fetchone()
    if row is None:
        raise CutError(
            f"delivery {delivery!r} has no loaded file: name a delivery listed in "
            "audit.ingest_files (e.g. 20260301T020000), or leave --through-delivery out"
        )
    return delivery


def create_cut(
    name: str,
    cutoff: dt.date,
    through_delivery: str | None = None,
    run_id: str | None = None,
) -> Cut:
    """Build, gate and freeze the analysis cut ``name``. The caller holds the warehouse lock.

    Steps:
    1. check the name (``compute_cut_schemas``) is new (else ``CutError``: a cut never changes);
    2. fix the raw watermark (the last loaded file) and the last delivery
       (``resolve_delivery``: default the latest loaded);
    3. run the raw gate up to the watermark (as ``cfz transform`` does; a blocking failure
       raises ``QualityGateFailed``);
    4. build the cut (``build_cut``: dbt, endpoint tables, mart gate, XPT md5s);
    5. score the champion on the built ``fct_ml_features`` into the built marts, with the
       validation rows the report shows (``ml.cut_scores.score_cut_champion``); no champion:
       one log line, the cut has no scores;
    6. in one transaction: rename the built schemas to ``cut_<name>`` / ``cut_<name>_adam``,
       grant ``bi_reader`` on both, record the cut (and the model version) in
       ``audit.analysis_cuts``.
    """
    from cfz_platform.ml.cut_scores import score_cut_champion
    from cfz_platform.quality import QualityGateFailed
    from cfz_platform.transform.pipeline import ensure_raw, fix_watermark, gate

    marts_schema, adam_schema = compute_cut_schemas(name)
    run_id = run_id or uuid.uuid4().hex[:12]
    ensure_raw()
    with warehouse.connect(autocommit=True) as conn:
        if read_cut(conn, name) is not None:
            raise CutError(
                f"cut {name!r} exists already and never changes: choose another name "
                f"(`cfz cut list` shows the cuts; `cfz cut verify {name}` rebuilds it to check it)"
            )
    through_file_id = fix_watermark()
    with warehouse.connect(autocommit=True) as conn:
        delivery = resolve_delivery(conn, through_file_id, through_delivery)
    cut = Cut(name, cutoff, delivery, through_file_id)
    raw = gate("raw", run_id, through_file_id=through_file_id)
    if not raw.passed:
        raise QualityGateFailed(raw)
    datasets = build_cut(cut, run_id)
    with warehouse.connect() as conn:
        scores = score_cut_champion(conn, BUILD_MARTS)
        conn.commit()
    if scores.model_version is None:
        log.warning("cut %s is made without model scores: %s", name, scores.note)
    else:
        log.info(
            "cut %s: %d subjects scored with the early-response model version %s",
            name,
            scores.n_scored,
            scores.model_version,
        )
    with warehouse.connect() as conn, conn.transaction(), conn.cursor() as cur:
        for built, final in ((BUILD_MARTS, marts_schema), (BUILD_ADAM, adam_schema)):
            cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(final)))
            cur.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(built), sql.Identifier(final)
                )
            )
            warehouse.grant_bi_reader(cur, final)
        _drop_build_schemas(cur)
        cur.execute(
            "insert into audit.analysis_cuts (name, cutoff, through_delivery, through_file_id, "
            "marts_schema, adam_schema, datasets, model_version) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s) returning made_at",
            (
                name,
                cutoff,
                delivery,
                through_file_id,
                marts_schema,
                adam_schema,
                json.dumps(datasets, sort_keys=True),
                scores.model_version,
            ),
        )
        made_at = cur.fetchone()[0]
    log.info("cut %s frozen as %s and %s", name, marts_schema, adam_schema)
    return Cut(name, cutoff, delivery, through_file_id, made_at, datasets, scores.model_version)


def build_cut(cut: Cut, run_id: str) -> dict:
    """Build ``cut`` into the build schemas (``BUILD_MARTS``, ``BUILD_ADAM``), gate it and
    return its XPTs' records and md5 per dataset.

    Steps:
    1. drop leftover build schemas (an interrupted cut);
    2. ``dbt build --full-refresh`` on the ``cut`` target with vars ``cut_cutoff`` and
       ``cut_through_delivery`` and the cut's raw watermark (no unit tests: they test SQL, not
       data);
    3. the endpoint tables (``write_endpoint_tables``) in the built marts;
    4. the mart gate on the built marts and ADaM (a blocking failure drops them and raises
       ``QualityGateFailed``);
    5. export the ADaM XPTs stamped with the cutoff into a temporary folder: records and md5.
    """
    from cfz_platform.quality import QualityGateFailed
    from cfz_platform.stats import write_endpoint_tables
    from cfz_platform.transform.build import _session_options
    from cfz_platform.transform.dbt_runner import run_dbt
    from cfz_platform.transform.pipeline import gate

    with warehouse.connect() as conn, conn.transaction(), conn.cursor() as cur:
        _drop_build_schemas(cur)
    dbt_vars = {
        "marts_schema": "marts",
        "adam_schema": "marts_adam",  # cut_build_marts_adam = adam_schema_for(BUILD_MARTS)
        "cut_cutoff": cut.cutoff.isoformat(),
        "cut_through_delivery": cut.through_delivery,
        "raw_through_file_id": cut.through_file_id,
    }
    log.info(
        "building cut %s: cutoff %s, deliveries through %s (raw through file %d)",
        cut.name,
        cut.cutoff,
        cut.through_delivery,
        cut.through_file_id,
    )
    with _session_options():
        run_dbt(
            [
                "build",
                "--full-refresh",
                "--target",
                CUT_TARGET,
                "--exclude-resource-type",
                "unit_test",
            ],
            vars=dbt_vars,
            gated_build=True,
            target_subdir=CUT_TARGET,
        )
    with warehouse.connect() as conn:
        write_endpoint_tables(conn, BUILD_MARTS)
        conn.commit()
    report = gate("mart", run_id, marts_schema=BUILD_MARTS)
    if not report.passed:
        with warehouse.connect() as conn, conn.transaction(), conn.cursor() as cur:
            _drop_build_schemas(cur)
        raise QualityGateFailed(report)
    with warehouse.connect() as conn:
        return compute_xpt_digests(conn, BUILD_ADAM, cut.stamp)


def compute_xpt_digests(conn: psycopg.Connection, adam_schema: str, stamp: dt.datetime) -> dict:
    """Export ``adam_schema``'s datasets stamped with ``stamp`` into a temporary folder:
    ``{dataset: {"records": n, "md5": hex}}`` of each XPT written (an empty dataset: records
    0, md5 null)."""
    from cfz_platform.export import export_adam

    with tempfile.TemporaryDirectory(prefix="cfz-cut-") as tmp:
        result = export_adam(conn, Path(tmp) / "adam", schema=adam_schema, stamp=stamp)
        return {
            d.name: {
                "records": d.records,
                "md5": hashlib.md5(d.path.read_bytes()).hexdigest() if d.path else None,
            }
            for d in result.datasets
        }


def verify_cut(name: str, run_id: str | None = None) -> tuple[Cut, dict]:
    """Rebuild the recorded cut ``name`` from the raw history and return (the cut, the
    rebuilt XPT digests). The cut's schemas are not touched; the rebuild is dropped.

    Steps: read the cut (else ``CutError``); ``build_cut`` with its cutoff, delivery and raw
    watermark; drop the build schemas."""
    with warehouse.connect(autocommit=True) as conn:
        cut = read_cut(conn, name)
    if cut is None:
        raise CutError(f"there is no cut {name!r}: `cfz cut list` shows the cuts")
    try:
        digests = build_cut(cut, run_id or uuid.uuid4().hex[:12])
    finally:
        with warehouse.connect() as conn, conn.transaction(), conn.cursor() as cur:
            _drop_build_schemas(cur)
    return cut, digests


def compute_digest_differences(recorded: dict, rebuilt: dict) -> list[str]:
    """The datasets whose XPT differs between two digests, each as one readable line."""
    out = []
    for name in sorted(set(recorded) | set(rebuilt)):
        a, b = recorded.get(name) or {}, rebuilt.get(name) or {}
        if a.get("md5") != b.get("md5"):
            out.append(
                f"{name.upper()}: recorded {a.get('records')} records md5 {a.get('md5')}, "
                f"rebuilt {b.get('records')} records md5 {b.get('md5')}"
            )
    return out


def _drop_build_schemas(cur: psycopg.Cursor) -> None:
    for schema in BUILD_SCHEMAS:
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
