"""Per-field agreement of the platform's marts with the simulator's truth folder.

``compare_with_truth`` reads the marts (any schema: ``marts`` or an unpublished
``marts_candidate``) and ``truth/`` and returns, per field, the subjects (or dose levels) that
agree and those that do not; ``format_agreement`` prints them as ``field: n agree / n total``
with every disagreement. Fields (truth column -> mart column):

* ``e1``..``e7`` -> fct_eligibility.status (all subjects, screen failures included);
* ``saffl``, ``dltevalfl``, ``respevalfl``, ``first_dose_date``, ``is_dlt`` (n_dlts > 0,
  escalation cohort) -> dim_subject (enrolled subjects);
* ``best_response`` -> fct_best_response (enrolled);
* ``ttp_cnsr``/``ttp_aval``, ``pfsmaint_cnsr``/``pfsmaint_aval`` -> fct_time_to_event (TTP
  for the enrolled; PFSMAINT where either side has a row); ``pfs_cnsr``/``pfs_aval``,
  ``os_cnsr`` (enrolled) and ``os_aval`` (subjects who died: the truth has no last date
  known alive) -> fct_time_to_event PFS and OS;
* ``label_pr``/``label_mr``/``label_vgpr``/``label_cutoff_date`` -> fct_ml_features (the
  truth's response-evaluable subjects);
* ``decision``/``is_mtd`` per escalation dose level -> fct_dose_escalation (truth
  ``decision_rule``: escalate, expand_to_6, above_mtd, enrolling).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

CRITERIA = ("e1", "e2", "e3", "e4", "e5", "e6", "e7")
FIELDS = (
    *CRITERIA,
    "saffl",
    "dltevalfl",
    "respevalfl",
    "first_dose_date",
    "is_dlt",
    "best_response",
    "ttp_cnsr",
    "ttp_aval",
    "pfsmaint_cnsr",
    "pfsmaint_aval",
    "pfs_cnsr",
    "pfs_aval",
    "os_cnsr",
    "os_aval",
    "label_pr",
    "label_mr",
    "label_vgpr",
    "label_cutoff_date",
    "escalation_decision",
    "escalation_is_mtd",
)


@dataclass
class FieldAgreement:
    """One field: how many keys agree, and the (key, truth, derived) triples that do not."""

    name: str
    n_total: int = 0
    n_agree: int = 0
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, key: str, truth, derived) -> None:
        self.n_total += 1
        if _norm(truth) == _norm(derived):
            self.n_agree += 1
        else:
            self.disagreements.append((key, _norm(truth), _norm(derived)))


def _norm(v) -> str:
    """Compare as text: booleans true/false, dates ISO, numbers without trailing .0, decisions
    lower case with underscores."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    try:
        f = float(s)
        if f.is_integer() and "-" not in s[1:]:
            return str(int(f))
    except ValueError:
        pass
    return s.lower().replace(" ", "_") if s.lower() in ("above mtd", "expand to 6") else s


def read_truth(truth_dir: Path) -> tuple[dict[str, dict], list[dict]]:
    """(subjects.csv rows by USUBJID, dose_escalation.csv rows)."""
    with open(truth_dir / "subjects.csv", encoding="utf-8") as fh:
        subjects = {r["usubjid"]: r for r in csv.DictReader(fh)}
    with open(truth_dir / "dose_escalation.csv", encoding="utf-8") as fh:
        levels = list(csv.DictReader(fh))
    return subjects, levels


def _rows(conn, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def _by_subject(conn, sql: str) -> dict[str, tuple]:
    """The rows of ``sql`` by their first column (USUBJID), each the tuple of the others."""
    return {r[0]: r[1:] for r in _rows(conn, sql)}


def compare_with_truth(conn, truth_dir: Path, schema: str = "marts") -> list[FieldAgreement]:
    """Compare the marts in ``schema`` with ``truth_dir`` (steps: read truth; read each mart;
    add one comparison per key and field; a key missing on the mart side compares as '')."""
    subjects, levels = read_truth(Path(truth_dir))
    enrolled = {u: t for u, t in subjects.items() if t["is_screen_failure"] == "false"}
    out: list[FieldAgreement] = []

    elig = {
        (u, c.lower()): s
        for u, c, s in _rows(
            conn, f"select usubjid, criterion_id, status from {schema}.fct_eligibility"
        )
    }
    for c in CRITERIA:
        fa = FieldAgreement(c)
        for u, t in sorted(subjects.items()):
            fa.add(u, t[c], elig.get((u, c)))
        out.append(fa)

    dim = _by_subject(
        conn,
        f"select usubjid, saffl, dltevalfl, respevalfl, first_dose_date, "
        f"coalesce(n_dlts, 0) > 0 from {schema}.dim_subject",
    )
    for i, name in enumerate(("saffl", "dltevalfl", "respevalfl", "first_dose_date")):
        fa = FieldAgreement(name)
        col = {"dltevalfl": "dlt_evaluable"}.get(name, name)
        for u, t in sorted(enrolled.items()):
            fa.add(u, t[col], dim[u][i] if u in dim else None)
        out.append(fa)
    fa = FieldAgreement("is_dlt")
    for u, t in sorted(enrolled.items()):
        if t["cohort"] == "ESCALATION":
            fa.add(u, t["is_dlt"], dim[u][4] if u in dim else None)
    out.append(fa)

    bor = dict(_rows(conn, f"select usubjid, best_response from {schema}.fct_best_response"))
    fa = FieldAgreement("best_response")
    for u, t in sorted(enrolled.items()):
        fa.add(u, t["true_best_response"], bor.get(u))
    out.append(fa)

    tte = {
        (u, p): (c, a)
        for u, p, c, a in _rows(
            conn, f"select usubjid, paramcd, cnsr, aval from {schema}.fct_time_to_event"
        )
    }
    for param, days, event in (
        ("TTP", "ttp_days", "ttp_event"),
        ("PFSMAINT", "mpfs_days", "mpfs_event"),
        ("PFS", "pfs_days", "pfs_event"),
        ("OS", "os_days", "os_event"),
    ):
        fc, fv = FieldAgreement(f"{param.lower()}_cnsr"), FieldAgreement(f"{param.lower()}_aval")
        for u, t in sorted(enrolled.items()):
            got = tte.get((u, param))
            if param == "PFSMAINT" and not t[days] and got is None:
                continue
            fc.add(u, (1 - int(t[event])) if t[event] != "" else None, got[0] if got else None)
            if param == "OS" and not t[days]:
                continue  # censored OS: the truth has no last date known alive
            fv.add(u, t[days], got[1] if got else None)
        out += [fc, fv]

    ml = _by_subject(
        conn,
        f"select usubjid, label_pr, label_mr, label_vgpr, label_cutoff_date "
        f"from {schema}.fct_ml_features",
    )
    for i, (name, col) in enumerate(
        (
            ("label_pr", "early_label"),
            ("label_mr", "early_label_mr"),
            ("label_vgpr", "early_label_vgpr"),
            ("label_cutoff_date", "label_cutoff_date"),
        )
    ):
        fa = FieldAgreement(name)
        for u, t in sorted(enrolled.items()):
            if t["respevalfl"] != "true":  # the label's population: response-evaluable subjects
                continue
            truth = t[col] if name == "label_cutoff_date" else t[col] == "1"
            fa.add(u, truth, ml[u][i] if u in ml else None)
        out.append(fa)

    esc = {
        float(r[0]): r[1:]
        for r in _rows(
            conn, f"select dose_level, decision, is_mtd from {schema}.fct_dose_escalation"
        )
    }
    fd, fm = FieldAgreement("escalation_decision"), FieldAgreement("escalation_is_mtd")
    for r in levels:
        if r["decision_rule"] == "not_tested":
            continue
        lv = float(r["doselvl"])
        fd.add(f"{lv:g} mg/m2", r["decision_rule"], esc[lv][0] if lv in esc else None)
        fm.add(f"{lv:g} mg/m2", r["is_mtd"], esc[lv][1] if lv in esc else None)
    out += [fd, fm]
    return out


def format_agreement(
    fields: list[FieldAgreement], subjects: dict[str, dict] | None = None, limit: int = 50
) -> str:
    """``field: n agree / n total`` lines, each followed by its disagreements (with the truth's
    scenario of the subject when known)."""
    lines = []
    for fa in fields:
        lines.append(f"{fa.name:20s} {fa.n_agree:4d} / {fa.n_total:<4d}")
        for key, t, d in fa.disagreements[:limit]:
            scen = (subjects or {}).get(key, {}).get("scenario", "")
            lines.append(
                f"    {key}: truth {t!r} derived {d!r}" + (f" [scenario {scen}]" if scen else "")
            )
        if len(fa.disagreements) > limit:
            lines.append(f"    ... {len(fa.disagreements) - limit} more")
    return "\n".join(lines)
