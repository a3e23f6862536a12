"""Adverse events as a safety committee reads them, from marts.fct_adverse_events.

Treatment-emergent AEs by system organ class and preferred term at each subject's worst
grade; the same by dose level and group; serious AEs; AEs that led to discontinuation of
study drug. Denominators are the treated subjects (dim_subject.saffl).
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report import figures
from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_n_pct
from cfz_platform.report.marts import Unavailable, as_bool, as_grade

SOURCE = "marts.fct_adverse_events"
AE_COLUMNS = [
    "usubjid",
    "aedecod",
    "aebodsys",
    "aetoxgr",
    "aestdtc",
    "aeendtc",
    "is_teae",
    "is_serious",
    "aeacn",
    "aeout",
    "aerel",
]
#: AEACN values meaning the study drug was stopped because of the AE (CDISC controlled terms).
DISCONTINUED_ACTIONS = {"DRUG WITHDRAWN"}
LISTING_COLUMNS = {
    "usubjid": "Subject",
    "aebodsys": "System organ class",
    "aedecod": "Preferred term",
    "aetoxgr": "Grade",
    "aestdtc": "Start",
    "aeendtc": "End",
    "aerel": "Relationship",
    "aeacn": "Action taken",
    "aeout": "Outcome",
}
GRADES = range(1, 6)


def compute_grade_row(worst: pd.Series, denom: int) -> dict:
    """The counts of one table row from each subject's worst grade (index: subjects).

    Steps: any grade n (%); subjects whose worst grade is 1..5; grade >= 3 n (%).
    """
    return {
        "Any grade": compute_n_pct(len(worst), denom),
        **{f"Grade {g}": int((worst == g).sum()) for g in GRADES},
        "Grade ≥3": compute_n_pct(int((worst >= 3).sum()), denom),
    }


def derive_soc_pt_rows(teae: pd.DataFrame, denom: int) -> pd.DataFrame:
    """TEAEs by system organ class, then preferred term, each at the subject's worst grade.

    Steps: 1. 'Any TEAE' first; 2. per SOC (most subjects first) a row counting each subject
    once at their worst grade in that SOC; 3. under it, its preferred terms (most subjects
    first), each subject once at their worst grade for that term.
    """
    rows = [
        {
            "System organ class": "Any TEAE",
            "Preferred term": "",
            **compute_grade_row(teae.groupby("usubjid")["_grade"].max(), denom),
        }
    ]
    soc_worst = teae.groupby(["_soc", "usubjid"])["_grade"].max()
    order = soc_worst.groupby(level=0).size().sort_values(ascending=False, kind="stable")
    for soc in order.index:
        rows.append(
            {
                "System organ class": soc,
                "Preferred term": "All terms",
                **compute_grade_row(soc_worst.loc[soc], denom),
            }
        )
        in_soc = teae[teae["_soc"] == soc]
        pt_worst = in_soc.groupby(["_term", "usubjid"])["_grade"].max()
        pts = pt_worst.groupby(level=0).size().sort_values(ascending=False, kind="stable")
        for term in pts.index:
            rows.append(
                {
                    "System organ class": "",
                    "Preferred term": term,
                    **compute_grade_row(pt_worst.loc[term], denom),
                }
            )
    return pd.DataFrame(rows)


def derive_by_dose_level(
    teae: pd.DataFrame, ae: pd.DataFrame, treated: pd.DataFrame
) -> pd.DataFrame:
    """Per dose level and group: treated subjects and the subjects with any TEAE, a grade >= 3
    TEAE, a serious AE and an AE that led to discontinuation (n and % of that row's treated)."""
    rows = []
    for (level, group), subjects in treated.groupby(["dose_level", "group"], sort=True):
        ids = set(subjects["usubjid"])
        n = len(ids)
        mine = teae[teae["usubjid"].isin(ids)]
        all_mine = ae[ae["usubjid"].isin(ids)]
        rows.append(
            {
                "Dose level (mg/m²)": level,
                "Group": group,
                "Treated": n,
                "Any TEAE": compute_n_pct(mine["usubjid"].nunique(), n),
                "Grade ≥3 TEAE": compute_n_pct(
                    mine.loc[mine["_grade"] >= 3, "usubjid"].nunique(), n
                ),
                "Serious AE": compute_n_pct(
                    all_mine.loc[all_mine["_serious"], "usubjid"].nunique(), n
                ),
                "AE leading to discontinuation": compute_n_pct(
                    all_mine.loc[all_mine["_discontinued"], "usubjid"].nunique(), n
                ),
            }
        )
    return pd.DataFrame(rows)


def _listing(ae: pd.DataFrame, rows: pd.Series, what: str) -> list:
    """A listing of the AEs flagged by ``rows``, or one line saying there are none."""
    chosen = ae[rows].sort_values(["usubjid", "aestdtc"])
    if chosen.empty:
        return [Markup(f'<p data-none="{escape(what)}">No {escape(what)} reported.</p>')]
    frame = chosen[list(LISTING_COLUMNS)].rename(columns=LISTING_COLUMNS)
    n = chosen["usubjid"].nunique()
    return [Table(frame, f"{len(chosen)} {what} in {n} subject(s) ({SOURCE}).", css="data listing")]


def _treated(data: ReportData) -> pd.DataFrame:
    """Treated subjects with their dose level and group (dim_subject.saffl, doselvl, group)."""
    d = data.dim_subject
    s = data.subjects
    out = pd.DataFrame(
        {
            "usubjid": s["usubjid"],
            "group": s["group"],
            "dose_level": pd.to_numeric(d.get("doselvl"), errors="coerce")
            if "doselvl" in d
            else float("nan"),
            "treated": s["treated"],
        }
    )
    out["dose_level"] = out["dose_level"].map(
        lambda v: "not assigned" if pd.isna(v) else f"{float(v):g}"
    )
    return out[out["treated"]]


def build_adverse_events(data: ReportData) -> Section:
    """Adverse events by SOC and term at worst grade, by dose level and group, SAEs and AEs
    leading to discontinuation.

    Steps: 1. read the AEs; TEAEs are is_teae; 2. a stacked bar chart of the 15 most frequent
    terms by worst grade; 3. the SOC / preferred-term table (``derive_soc_pt_rows``); 4. the
    dose level x group summary (``derive_by_dose_level``); 5. listings of serious AEs
    (is_serious) and of AEs whose action taken was to withdraw the drug (``DISCONTINUED_ACTIONS``),
    with a note pointing to the disposition section for the recorded reasons.
    """
    present = set(data.reader.columns("marts", "fct_adverse_events"))
    ae = data.reader.table("marts", "fct_adverse_events", [c for c in AE_COLUMNS if c in present])
    for column in AE_COLUMNS:
        if column not in ae:
            ae[column] = None
    ae = ae.assign(
        _grade=as_grade(ae["aetoxgr"]).fillna(0).astype(int),
        _term=ae["aedecod"].fillna("(no term)").astype(str),
        _soc=ae["aebodsys"].fillna("(no system organ class)").astype(str),
        _serious=as_bool(ae["is_serious"]),
        _discontinued=ae["aeacn"].fillna("").astype(str).str.upper().isin(DISCONTINUED_ACTIONS),
    )
    teae = ae[as_bool(ae["is_teae"])]
    if teae.empty:
        raise Unavailable(f"{SOURCE} has no treatment-emergent adverse events")
    try:
        treated = _treated(data)
    except Unavailable:
        treated = pd.DataFrame(columns=["usubjid", "group", "dose_level", "treated"])
    denom = len(treated) or teae["usubjid"].nunique()
    counts = (
        teae.groupby(["_term", "usubjid"])["_grade"]
        .max()
        .reset_index()
        .pivot_table(
            index="_term", columns="_grade", values="usubjid", aggfunc="count", fill_value=0
        )
    )
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    items: list = [
        figures.plot_ae_bars(
            counts.head(15),
            f"Source: {SOURCE} (treatment-emergent); subjects counted once at their worst grade.",
        ),
        Table(
            derive_soc_pt_rows(teae, denom),
            f"Treatment-emergent AEs by system organ class and preferred term: subjects counted "
            f"once at their worst grade in each row; % of {denom} treated subjects.",
        ),
    ]
    if not treated.empty:
        items.append(
            Table(
                derive_by_dose_level(teae, ae, treated),
                "Subjects with an AE, by dose level and group (% of the row's treated subjects).",
            )
        )
    items += _listing(ae, ae["_serious"], "serious adverse events")
    items += _listing(ae, ae["_discontinued"], "adverse events leading to discontinuation")
    items.append(
        Markup(
            '<p class="caption" data-discontinuation-note>An AE leads to discontinuation when its '
            "action taken (AEACN) is DRUG WITHDRAWN. Why each subject stopped treatment, as "
            'recorded at the end of treatment (DS), is in <a href="#disposition">Disposition</a>.'
            "</p>"
        )
    )
    return Section("adverse-events", "Adverse events", SOURCE, items=items)
