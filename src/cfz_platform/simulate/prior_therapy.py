"""Prior myeloma therapy (CM) and progression on it (RS, EPOCH "PRIOR THERAPY").

The index regimen is the most recent bortezomib-containing one. Screen failures get prior
therapy that breaks the criteria they fail (domain.md section 2):
E1 bortezomib alone; E2 under-dosed (0.7 mg/m2) or weekly x3 per 28 days; E3 PD more than
84 days after the last bortezomib dose; E4 a partner outside the allowed classes; E5 an
IMiD index regimen followed by a later regimen. (E6 is made in the labs; E7 needs EX.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.records import COL_INDEX, TAG_PARTIAL_END, Record, iso

CAT = "PRIOR MYELOMA THERAPY"
PARTNER_DOSE = {
    "DEXAMETHASONE": (40, "mg"),
    "METHYLPREDNISOLONE": (100, "mg"),
    "PREDNISONE": (60, "mg/m2"),
    "LENALIDOMIDE": (25, "mg"),
    "THALIDOMIDE": (100, "mg"),
    "CYCLOPHOSPHAMIDE": (300, "mg/m2"),
    "MELPHALAN": (9, "mg/m2"),
    "DOXORUBICIN": (30, "mg/m2"),
    "PEGYLATED LIPOSOMAL DOXORUBICIN": (30, "mg/m2"),
}


@dataclass
class PriorSummary:
    """What the truth needs to know about the prior therapy (days are ordinals)."""

    index_grpid: str
    index_partners: tuple[str, ...]
    index_pd_day: int
    last_bortezomib_day: int
    n_regimens: int
    bortezomib_doses: list[tuple[int, float]]  # the index regimen's (day, mg/m2)
    index_pd_text: str  # RSDTC as sent (month-only in the partial-dates scenario)
    later_regimen: bool  # another regimen started after the index regimen (before consent)
    #: the index regimen's bortezomib CMSTDTC as sent, one per dose (month-only in the
    #: partial-bortezomib scenario); empty: every date as in ``bortezomib_doses``
    bortezomib_dose_texts: list[str] = field(default_factory=list)


def _rs_pd(usubjid: str, grpid: str, day: int, avail: int) -> Record:
    return Record(
        "rs",
        avail,
        [
            P.STUDYID,
            "RS",
            usubjid,
            "OVRLRESP",
            "Overall Response",
            "IMWG",
            "PD",
            "PD",
            "INVESTIGATOR",
            "PRIOR THERAPY",
            "SCREENING",
            grpid,
            iso(day),
            "",
            "",
        ],
    )


def build_prior_therapy(
    rng: np.random.Generator,
    usubjid: str,
    consent: int,
    partners: tuple[str, ...],
    fails: frozenset[str],
    lag: int,
    records: list[Record],
    partial: bool = False,
    partial_btz: bool = False,
) -> PriorSummary:
    """Append CM and RS prior-therapy records; return the index regimen summary.

    Steps:
    1. decide whether a later non-bortezomib regimen follows the index (always for E5
       failures, sometimes for non-IMiD index regimens, never otherwise);
    2. date the index PD before consent (or before the later regimen), the last bortezomib
       dose before the PD (within 84 days, or 100-220 days for E3 failures), and the cycles
       (days 1, 4, 8, 11 every 21 days at 1.3 mg/m2; E2 failures under-dosed or weekly x3);
    3. place 0-2 earlier lines before the index (one of them may contain bortezomib);
    4. write one CM row per bortezomib dose, one per partner drug (synonyms), and one RS PD
       row per regimen linked by CMGRPID.
    ``partial`` (scenario partial-dates): the index PD is sent month-only (every other such
    subject with the PD 75-84 days after the last bortezomib dose, so that E3 may depend on
    the missing day) and an earlier line's CMSTDTC is sent month-only. E2 failures never get
    an earlier bortezomib line (E2 reads the index regimen).
    ``partial_btz`` (scenario partial-bortezomib): one index-regimen bortezomib dose is sent
    month-only (``month_only_bortezomib``), never the first or the last (E3 and E5 read those).
    """
    avail = consent + lag
    imid = any(p in P.IMIDS for p in partners)
    later = "E5" in fails or (not imid and rng.random() < 0.3)
    regimens: list[tuple[tuple[str, ...], bool, int, int, int, list[tuple[int, float]]]] = []
    # (drugs, has_bortezomib, start, end, pd_day, bortezomib doses)
    cursor = consent
    if later:
        l_end = consent - int(rng.integers(20, 60))
        l_start = l_end - int(rng.integers(60, 150))
        later_drugs = ("MELPHALAN", "PREDNISONE") if imid else EARLIER_CHOICE(rng, imid_ok=True)
        regimens.append(
            (later_drugs, False, l_start, l_end, l_end + int(rng.integers(-10, 15)), [])
        )
        cursor = l_start - int(rng.integers(5, 20))
        index_pd = cursor
    else:
        index_pd = consent - int(rng.integers(10, 90))
    near_window_end = partial and rng.random() < 0.5
    if "E3" in fails:
        last_dose = index_pd - int(rng.integers(100, 220))
    elif near_window_end:
        last_dose = index_pd - int(rng.integers(75, 85))
    else:
        last_dose = index_pd - int(rng.integers(0, 70))
    n_cyc = int(rng.integers(2, 9))
    doses: list[tuple[int, float]] = []
    e2_mode = rng.integers(0, 2) if "E2" in fails else -1
    if e2_mode == 1:  # weekly x3 every 28 days: never 4 doses within 28 days
        first = last_dose - (n_cyc * 28 - 14)
        for c in range(n_cyc):
            doses += [(first + c * 28 + d, 1.3) for d in (0, 7, 14)]
    else:
        first = last_dose - (n_cyc * 21 - 11)
        level = 0.7 if e2_mode == 0 else 1.3
        for c in range(n_cyc):
            for d in (0, 3, 7, 10):
                lv = level
                if e2_mode != 0 and c >= 2 and rng.random() < 0.15:
                    lv = 1.0
                doses.append((first + c * 21 + d, lv))
    doses = [d for d in doses if d[0] <= last_dose]
    btz_texts = [iso(d) for d, _ in doses]
    if partial_btz:
        doses, btz_texts = month_only_bortezomib(rng, doses, last_dose)
    regimens.append((partners, True, doses[0][0], doses[-1][0], index_pd, doses))
    cursor = doses[0][0] - int(rng.integers(30, 120))
    for _ in range(int(rng.integers(0, 3))):
        e_end = cursor
        e_start = e_end - int(rng.integers(90, 300))
        if rng.random() < 0.2 and "E1" not in fails and "E2" not in fails:
            edoses = [(e_start + c * 21 + d, 1.3) for c in range(3) for d in (0, 3, 7, 10)]
            regimens.append(
                (
                    ("MELPHALAN", "PREDNISONE"),
                    True,
                    edoses[0][0],
                    edoses[-1][0],
                    min(edoses[-1][0] + int(rng.integers(20, 200)), e_end),
                    edoses,
                )
            )
        else:
            regimens.append((EARLIER_CHOICE(rng, imid_ok=True), False, e_start, e_end, e_end, []))
        cursor = e_start - int(rng.integers(30, 200))
    regimens.sort(key=lambda r: r[2])
    syn = {d: s[int(rng.integers(0, len(s)))] for d, s in P.CM_SYNONYMS.items()}
    index_id = ""
    index_pd_text = iso(index_pd)
    index_start = doses[0][0]
    partial_cm_done = False
    for i, (drugs, _has_btz, start, end, pd_day, bdoses) in enumerate(regimens, start=1):
        grp = f"REG{i}"
        is_index = bdoses is doses
        if is_index:
            index_id = grp
        for k, (day, lv) in enumerate(bdoses):
            st = btz_texts[k] if is_index else iso(day)
            records.append(
                Record(
                    "cm",
                    avail,
                    [
                        P.STUDYID,
                        "CM",
                        usubjid,
                        syn["BORTEZOMIB"],
                        CAT,
                        grp,
                        f"{lv:.1f}",
                        "mg/m2",
                        st,
                        st,
                    ],
                )
            )
        for drug in drugs:
            name = syn.get(drug, drug)
            dose, unit = PARTNER_DOSE.get(drug, ("", ""))
            st = iso(start)
            if (
                partial
                and not is_index
                and not bdoses
                and start < index_start
                and not partial_cm_done
            ):
                st, partial_cm_done = st[:7], True  # an earlier line's start, month-only
            records.append(
                Record(
                    "cm",
                    avail,
                    [P.STUDYID, "CM", usubjid, name, CAT, grp, str(dose), unit, st, iso(end)],
                    0 if len(st) == 7 else TAG_PARTIAL_END,
                )
            )
        rs = _rs_pd(usubjid, grp, pd_day, avail)
        if is_index and partial:
            rs.row[COL_INDEX["rs"]["RSDTC"]] = index_pd_text = iso(pd_day)[:7]
        records.append(rs)
    later = any(r[2] > index_start for r in regimens if r[5] is not doses)
    return PriorSummary(
        index_id,
        partners,
        index_pd,
        last_dose,
        len(regimens),
        list(doses),
        index_pd_text,
        later,
        btz_texts,
    )


def month_only_bortezomib(
    rng: np.random.Generator, doses: list[tuple[int, float]], last_dose: int
) -> tuple[list[tuple[int, float]], list[str]]:
    """Scenario partial-bortezomib: the index regimen's doses with one sent month-only.

    Steps (one draw u; the first and the last dose always keep their full dates):
    1. u < 1/3 (or when no dose's month lies between the first and the last dose): E2
       undecided. The regimen becomes doses on c, c + 3, c + 7, c + 28 and the last dose
       (c = last - 60, moved back until c + 28 is day 2-27 of its month); c + 28 is sent
       month-only, so its month holds c + 27 (four doses within 27 days: met) and c + 28 (28
       days: not met) - not evaluable;
    2. u < 2/3: decided although the month-only dose sits inside the only qualifying cycle.
       The regimen becomes weekly doses on c, c + 7, c + 14, c + 21 (21 days: a qualifying
       cycle), c + 8 sent month-only, and the last dose (c = 3 days before the first day of
       a month, about 70 days before the last dose); met on every possible day of it
       (domain.md 2), although its month starts before the cycle's second dose and ends after
       its fourth;
    3. otherwise: one dose whose whole month lies between the first and the last dose (the
       regimen's dates unchanged) is sent month-only; the other cycles usually decide E2.
    Returns the doses (true days) and their CMSTDTC texts.
    """
    texts = [iso(d) for d, _ in doses]

    def month_inside(day: int) -> bool:
        d = date.fromordinal(day)
        first = d.replace(day=1).toordinal()
        nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1).toordinal()
        return first > doses[0][0] and nxt - 1 < doses[-1][0]

    inside = [k for k in range(1, len(doses) - 1) if month_inside(doses[k][0])]
    u = rng.random()
    if u < 1 / 3 or not inside:
        c = last_dose - 60
        while not 2 <= date.fromordinal(c + 28).day <= 27:
            c -= 1
        new = [(c, 1.3), (c + 3, 1.3), (c + 7, 1.3), (c + 28, 1.3), (last_dose, 1.3)]
        partial_at = 3
    elif u < 2 / 3:
        d0 = date.fromordinal(last_dose - 70)
        month_start = date(d0.year + d0.month // 12, d0.month % 12 + 1, 1).toordinal()
        c = month_start - 3
        new = [(c, 1.3), (c + 7, 1.3), (c + 8, 1.3), (c + 14, 1.3), (c + 21, 1.3)]
        new.append((last_dose, 1.3))
        partial_at = 2
    else:
        k = inside[int(rng.integers(0, len(inside)))]
        texts[k] = texts[k][:7]
        return doses, texts
    texts = [iso(d) for d, _ in new]
    texts[partial_at] = texts[partial_at][:7]
    return new, texts


def EARLIER_CHOICE(rng: np.random.Generator, imid_ok: bool = True) -> tuple[str, ...]:  # noqa: N802
    """An earlier (non-bortezomib) line of therapy."""
    return P.EARLIER_REGIMENS[int(rng.integers(0, len(P.EARLIER_REGIMENS)))]
