"""Small landing fixtures for the ingestion tests (hand-written per feeds.md)."""

from __future__ import annotations

from pathlib import Path

LB_HEADER = "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC,VISIT"
DM_HEADER = "STUDYID,DOMAIN,USUBJID,SITEID,ARMCD,RFSTDTC,AGE,SEX"


def write(landing: Path, delivery: str, name: str, content: str | bytes) -> Path:
    """Write one landing file ``<landing>/<delivery>/<name>``."""
    path = landing / delivery / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def lb_rows(
    subjects: int, tests=("HGB", "PLAT", "MPROTEIN"), visit="C1D1", dtc="2026-03-02"
) -> list[str]:
    spec = {"HGB": "BLOOD", "PLAT": "BLOOD", "MPROTEIN": "SERUM"}
    unit = {"HGB": "g/dL", "PLAT": "10^9/L", "MPROTEIN": "g/dL"}
    return [
        f"CFZ,LB,CFZ-{s:03d},{t},{spec[t]},{10 + s % 7}.{s % 10},{unit[t]},{dtc},{visit}"
        for s in range(1, subjects + 1)
        for t in tests
    ]


def csv_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def rejects(db, rel_path: str) -> list[tuple]:
    """The rejects of one landing file: (line, column, kind, reason, value), by line."""
    return db.execute(
        "select line, column_name, kind, reason, value from audit.ingest_rejects where rel_path = %s order by line",
        (rel_path,),
    ).fetchall()


def raw_count(db, domain: str, rel_path: str) -> int:
    """Rows of one landing file loaded into raw.<domain>."""
    return db.execute(
        f"select count(*) from raw.{domain} where _file = %s", (rel_path,)
    ).fetchone()[0]
