"""ADaM on a study that is not myeloma: the CDISC pilot, loaded untouched, against the sponsor's
own ADaM (reference/adsl.xpt, adae.xpt, read with pyreadstat).

Core variables must agree on >= 99% of records (issue 16): ADSL TRTSDT, TRTEDT, AGE, SEX, RACE,
SAFFL by USUBJID; ADAE ASTDT, AENDT, ASTDY, TRTEMFL by USUBJID and AESEQ. Every other variable
that both have is printed, and each known difference is asserted to be exactly the pilot
convention the platform chose not to copy (see the README, "For statisticians").

Built like tests/transform/test_marts_cdisc_pilot.py: the pilot's files untouched, one delivery,
`cfz ingest` then `cfz transform` (both gates, publish): what a user does; once per session
(tests/trial_template.py, ``pilot``), read here from a copy of that warehouse.
"""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from tests.adam.agreement import compute_agreement, compute_norm, format_table
from tests.conftest import CONFORMANCE

pytestmark = pytest.mark.slow

REFERENCE = CONFORMANCE / "reference"
CORE_MIN = 0.99

ADSL_CORE = [
    ("trtsdt", "TRTSDT"),
    ("trtedt", "TRTEDT"),
    ("age", "AGE"),
    ("sex", "SEX"),
    ("race", "RACE"),
    ("saffl", "SAFFL"),
]
ADSL_OTHER = [
    ("studyid", "STUDYID"),
    ("siteid", "SITEID"),
    ("ageu", "AGEU"),
    ("arm", "ARM"),
    ("trt01p", "TRT01P"),
    ("trtdurd", "TRTDUR"),
    ("ittfl", "ITTFL"),
    ("dthfl", "DTHFL"),
]
ADAE_CORE = [("astdt", "ASTDT"), ("aendt", "AENDT"), ("astdy", "ASTDY"), ("trtemfl", "TRTEMFL")]
ADAE_OTHER = [
    ("studyid", "STUDYID"),
    ("siteid", "SITEID"),
    ("trtsdt", "TRTSDT"),
    ("trtedt", "TRTEDT"),
    ("saffl", "SAFFL"),
    ("aeterm", "AETERM"),
    ("aedecod", "AEDECOD"),
    ("aebodsys", "AEBODSYS"),
    ("aeser", "AESER"),
    ("aerel", "AEREL"),
    ("aeacn", "AEACN"),
    ("aeout", "AEOUT"),
    ("astdtf", "ASTDTF"),
    ("aendy", "AENDY"),
    ("adurn", "ADURN"),
    ("aduru", "ADURU"),
    ("aoccfl", "AOCCFL"),
]


@pytest.fixture(scope="module")
def warehouse_db(pilot_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's published pilot."""
    return pilot_warehouse


@pytest.fixture(scope="module")
def built(warehouse_db, db) -> None:
    """The copy holds the pilot's published ADaM (one row per pilot subject in ADSL)."""
    assert db.execute("select count(*) from adam.adsl").fetchone()[0] == 306


def _read_ref(name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(REFERENCE / f"{name}.xpt"))
    return frame


def _ours(db, table: str) -> pd.DataFrame:
    cur = db.execute(f"select * from adam.{table}")
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


@pytest.fixture(scope="module")
def adsl_merged(built, db):
    ref = _read_ref("adsl")
    merged = ref.merge(_ours(db, "adsl"), left_on="USUBJID", right_on="usubjid", how="left")
    assert merged["usubjid"].notna().all(), "every reference subject is in ADSL"
    return merged


@pytest.fixture(scope="module")
def adae_merged(built, db):
    ours = _ours(db, "adae")
    ours["aeseq"] = ours["aeseq"].astype(float)
    return _read_ref("adae").merge(
        ours, left_on=["USUBJID", "AESEQ"], right_on=["usubjid", "aeseq"], how="inner"
    )


def test_adsl_core_variables_agree_with_the_sponsor(adsl_merged, capsys):
    rows = [compute_agreement(adsl_merged, o, r, ["USUBJID"]) for o, r in ADSL_CORE]
    other = [compute_agreement(adsl_merged, o, r, ["USUBJID"]) for o, r in ADSL_OTHER]
    with capsys.disabled():
        print(
            "\n"
            + format_table(f"ADSL vs reference/adsl.xpt ({len(adsl_merged)} subjects), core", rows)
        )
        print(format_table("ADSL, other variables", other))
    assert len(adsl_merged) == 254
    assert all(r.rate >= CORE_MIN for r in rows), [(r.ref, r.rate) for r in rows]
    # the other ADSL variables the reference has agree on every subject
    assert all(r.rate == 1.0 for r in other), [(r.ref, r.rate, r.examples) for r in other]


def test_adae_core_variables_agree_with_the_sponsor(adae_merged, capsys):
    rows = [compute_agreement(adae_merged, o, r, ["USUBJID", "AESEQ"]) for o, r in ADAE_CORE]
    other = [compute_agreement(adae_merged, o, r, ["USUBJID", "AESEQ"]) for o, r in ADAE_OTHER]
    with capsys.disabled():
        print(
            "\n"
            + format_table(
                f"ADAE vs reference/adae.xpt ({len(adae_merged)} AEs matched by USUBJID, AESEQ), core",
                rows,
            )
        )
        print(format_table("ADAE, other variables", other))
    assert all(r.rate >= CORE_MIN for r in rows), [(r.ref, r.rate) for r in rows]


def test_adae_differences_are_the_documented_conventions(adae_merged):
    """Each ADAE difference is a pilot convention the platform chose not to copy:
    1. a start date with only a year: the pilot leaves ASTDT (and ASTDY) empty, the platform
       imputes 1 January with ASTDTF = 'M' (admiral's highest imputation 'M');
    2. ADURN/ADURU: the pilot gives no duration when the start date was imputed (ASTDTF 'D');
       the platform computes it from the imputed date (flagged in ASTDTF);
    3. AOCCFL (first treatment-emergent AE) agrees on every subject with every AE present;
    4. nothing else differs in ASTDT, ASTDTF, ADURN, TRTEMFL (pilot 'N' = platform null), AENDT."""
    m = adae_merged

    def differs(ours: str, ref: str) -> pd.Series:
        flag = ref.endswith("FL")
        return pd.Series(
            [
                compute_norm(a, flag) != compute_norm(b, flag)
                for a, b in zip(m[ours], m[ref], strict=True)
            ],
            index=m.index,
        )

    astdt = m[differs("astdt", "ASTDT")]
    assert len(astdt) > 0 and astdt["ASTDT"].isna().all() and (astdt["astdtf"] == "M").all()
    assert (m[differs("astdtf", "ASTDTF")].index == astdt.index).all()
    adurn = m[differs("adurn", "ADURN")]
    assert adurn["ADURN"].isna().all() and adurn["astdtf"].notna().all(), adurn[
        ["USUBJID", "AESEQ", "ASTDTF"]
    ]
    for ours, ref in (("aendt", "AENDT"), ("trtemfl", "TRTEMFL")):
        assert not differs(ours, ref).any(), ref
    n_ref = _read_ref("adae").groupby("USUBJID").size()
    n_ours = m.groupby("USUBJID").size()
    complete = n_ours[n_ours == n_ref.reindex(n_ours.index)].index
    assert len(complete) > 50
    assert not differs("aoccfl", "AOCCFL")[m["USUBJID"].isin(complete)].any()


def test_adae_holds_every_reference_record(adae_merged):
    """Every AE of the sponsor's ADAE is in ours (the pilot reuses AESPID: the extended natural
    key of feeds.md keeps each record)."""
    assert len(adae_merged) == len(_read_ref("adae"))


def test_myeloma_datasets_are_empty_with_the_reason(built, db):
    rows = {
        r[0]: r[1:]
        for r in db.execute("select dataset, records, status, reason from adam.adam_datasets")
    }
    for name in ("ADSL", "ADAE", "ADLB", "ADEX", "ADMH"):
        assert rows[name][1] == "populated" and rows[name][0] > 0, (name, rows[name])
    for name in ("ADRS", "ADTTE"):
        records, status, reason = rows[name]
        assert (
            (records, status) == (0, "empty") and "myeloma-only" in reason and "response" in reason
        )
    comment = db.execute("select obj_description('adam.adtte'::regclass)").fetchone()[0]
    assert "empty when the study has no response data" in comment


def test_adlb_and_adex_carry_the_marts(built, db):
    # ADLB is fct_lab_results in ADaM names: same rows, same values and grades
    diff = db.execute(
        "select count(*) from marts.fct_lab_results f full join adam.adlb a on a.srckey = f.lab_record_key "
        "where a.srckey is null or f.lab_record_key is null or a.aval is distinct from f.aval "
        "or a.base is distinct from f.base or a.atoxgrl is distinct from f.atoxgrl or a.atoxgrh is distinct from f.atoxgrh"
    ).fetchone()[0]
    assert diff == 0
    # creatinine (mg/dL, blood) keeps its test code as PARAMCD; baseline flagged once per subject and test
    n, subjects = db.execute(
        "select count(*), count(distinct usubjid) from adam.adlb where paramcd = 'CREAT' and ablfl = 'Y'"
    ).fetchone()
    assert n == subjects and subjects >= 250
    # ADEX: one DOSE record per EX record; the subject of 01-701-1015 took placebo from 2014-01-02
    first = db.execute(
        "select min(astdt)::text, min(astdy) from adam.adex where usubjid = '01-701-1015' and paramcd = 'DOSE'"
    ).fetchone()
    assert first == ("2014-01-02", 1)


def test_define_xml_of_the_pilot_validates_and_describes_the_package(built, db, tmp_path):
    """`cfz export adam` on the pilot writes a define.xml that validates against the public
    Define-XML 2.1 schema, declares ADaMIG 1.3, links each XPT written, gives each BDS
    parameter its value-level metadata and each variable its origin and length."""
    from cfz_platform.export import export_adam
    from tests.adam.define_check import NS, groups, items, schema_errors

    result = export_adam(db, tmp_path)
    assert result.define_xml == tmp_path / "define.xml"
    assert schema_errors(result.define_xml) == []
    doc = etree.parse(str(result.define_xml))
    std = doc.find(".//def:Standards/def:Standard", NS)
    assert (std.get("Name"), std.get("Version")) == ("ADaMIG", "1.3")
    # ADRS and ADTTE are empty on the pilot: not written, not described
    assert set(groups(doc)) == {"ADSL", "ADAE", "ADLB", "ADEX", "ADMH", "ADVS", "ADCM"}
    for name, group in groups(doc).items():
        href = group.find("def:leaf", NS).get("{http://www.w3.org/1999/xlink}href")
        assert (tmp_path / href).is_file() and href == f"{name.lower()}.xpt"
    assert groups(doc)["ADSL"].find("def:Class", NS).get("Name") == "SUBJECT LEVEL ANALYSIS DATASET"
    keys = {
        r.get("ItemOID"): int(r.get("KeySequence"))
        for r in groups(doc)["ADAE"].iterfind("odm:ItemRef[@KeySequence]", NS)
    }
    assert keys == {"IT.ADAE.STUDYID": 1, "IT.ADAE.USUBJID": 2, "IT.ADAE.AESEQ": 3}
    # lengths: the longest AEDECOD in the XPT; the sponsor's MedDRA term is copied, not derived
    frame = _read_xpt(tmp_path / "adae.xpt")
    item = items(doc)["IT.ADAE.AETERM"]
    assert int(item.get("Length")) == max(len(x.encode()) for x in frame["AETERM"])
    assert item.find("def:Origin", NS).get("Type") == "Predecessor"
    assert items(doc)["IT.ADAE.ASTDY"].find("def:Origin", NS).get("Type") == "Derived"
    # one WhereClauseDef per ADLB parameter (PARAMCD EQ value); AVAL points at its value list
    params = set(db.execute("select distinct paramcd from adam.adlb").fetchall())
    where = {
        w.findtext("odm:RangeCheck/odm:CheckValue", namespaces=NS)
        for w in doc.iterfind(".//def:WhereClauseDef", NS)
        if w.get("OID").startswith("WC.ADLB.")
    }
    assert where == {p[0] for p in params} and len(where) >= 40
    assert items(doc)["IT.ADLB.AVAL"].find("def:ValueListRef", NS).get("ValueListOID") == (
        "VL.ADLB.AVAL"
    )
    # ADVS: one WhereClauseDef per vital-sign parameter, BSA among them when cycles exist
    vs_where = {
        w.findtext("odm:RangeCheck/odm:CheckValue", namespaces=NS)
        for w in doc.iterfind(".//def:WhereClauseDef", NS)
        if w.get("OID").startswith("WC.ADVS.")
    }
    vs_params = {p[0] for p in db.execute("select distinct paramcd from adam.advs")}
    assert vs_where == vs_params and {"WEIGHT", "HEIGHT", "SYSBP"} <= vs_where
    # the sex codelist holds exactly the values of ADSL.SEX
    sexes = {
        i.get("CodedValue")
        for i in doc.iterfind(".//odm:CodeList[@OID='CL.SEX']/odm:EnumeratedItem", NS)
    }
    assert sexes == {"F", "M"}


def _read_xpt(path) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(path))
    return frame


def test_cumulative_dose_counts_every_day_of_a_daily_record(adsl_merged, db, capsys):
    """ADSL.CUMDOSE is dose x days over EXSTDTC..EXENDTC for the pilot's QD records and agrees
    with the sponsor's CUMDOSE on >= 99% of subjects (issue 27: it was EXDOSE summed per record,
    88/254); AVGDD = CUMDOSE / TRTDURD agrees as well; ADEX TOTDOSE is CUMDOSE."""
    rows = [
        compute_agreement(adsl_merged, o, r, ["USUBJID"])
        for o, r in (("cumdose", "CUMDOSE"), ("avgdd", "AVGDD"))
    ]
    with capsys.disabled():
        print("\n" + format_table("ADSL exposure vs reference/adsl.xpt", rows))
    assert all(r.rate >= CORE_MIN for r in rows), [(r.ref, r.rate, r.examples) for r in rows]
    # 01-701-1028: 54 mg x 14 days + 81 mg x 158 days + 54 mg x 8 days
    cumdose, avgdd = db.execute(
        "select cumdose, avgdd from adam.adsl where usubjid = '01-701-1028'"
    ).fetchone()
    assert (cumdose, float(avgdd)) == (54 * 14 + 81 * 158 + 54 * 8, 77.7) == (13986, 77.7)
    records = db.execute(
        "select aval from adam.adex where usubjid = '01-701-1028' and paramcd = 'RECDOSE' "
        "order by astdt"
    ).fetchall()
    assert [r[0] for r in records] == [54 * 14, 81 * 158, 54 * 8]
    diff = db.execute(
        "select count(*) from adam.adsl s full join (select * from adam.adex where paramcd = 'TOTDOSE') x "
        "using (usubjid) where s.cumdose is distinct from x.aval"
    ).fetchone()[0]
    assert diff == 0


def test_adsl_treatment_and_demography_codes_agree_with_the_sponsor(adsl_merged, db, capsys):
    """Issue 27: SUBJID, AGEGR1(N), RACEN, RFSTDTC/RFENDTC, TRT01PN agree with the sponsor on
    every subject; ARMCD keeps the sponsor's case (Xan_Lo, not XAN_LO).

    TRT01A/TRT01AN are the treatment actually received (ADaMIG), derived from the exposure, not
    copied: DM.ACTARM names the low dose for 12 subjects randomised to the high dose, but EX
    shows each of them given 54 mg only, before stopping within the high dose's 54 mg
    titration weeks: a dose of the high-dose regimen (its subjects treated as planned were
    given 54 and 81 mg), so DM.ACTARM is a relabel the exposure does not support and TRT01A
    is the high dose, as in the sponsor's ADSL: 254/254 subjects agree (242/254 when TRT01A
    was DM.ACTARM)."""
    pairs = [
        ("subjid", "SUBJID"),
        ("agegr1", "AGEGR1"),
        ("agegr1n", "AGEGR1N"),
        ("racen", "RACEN"),
        ("rfstdtc", "RFSTDTC"),
        ("rfendtc", "RFENDTC"),
        ("trt01pn", "TRT01PN"),
        ("trt01a", "TRT01A"),
        ("trt01an", "TRT01AN"),
    ]
    rows = [compute_agreement(adsl_merged, o, r, ["USUBJID"]) for o, r in pairs]
    with capsys.disabled():
        print("\n" + format_table("ADSL, issue 27 variables", rows))
    assert all(r.rate == 1.0 for r in rows), [(r.ref, r.rate, r.examples) for r in rows]
    codes = {r[0] for r in db.execute("select distinct armcd from adam.adsl")}
    assert {"Pbo", "Xan_Lo", "Xan_Hi", "Scrnfail"} <= codes
    dm, _ = pyreadstat.read_xport(str(CONFORMANCE / "cdiscpilot01" / "dm.xpt"))
    ex, _ = pyreadstat.read_xport(str(CONFORMANCE / "cdiscpilot01" / "ex.xpt"))
    switched = set(dm.loc[(dm["ARMCD"] == "Xan_Hi") & (dm["ACTARMCD"] == "Xan_Lo"), "USUBJID"])
    assert len(switched) == 12
    assert set(ex.loc[ex["USUBJID"].isin(switched), "EXDOSE"]) == {54.0}
    m = adsl_merged.set_index("USUBJID")
    assert set(m.loc[sorted(switched), "trt01a"]) == {"Xanomeline High Dose"}
    assert set(m.loc[sorted(switched), "trt01an"].astype(float)) == {81.0}
    supported = dict(
        db.execute("select usubjid, actarm_supported from marts.dim_subject").fetchall()
    )
    assert all(supported[u] is None for u in switched)


def test_adae_severity_occurrence_and_treatment_agree_with_the_sponsor(adae_merged, capsys):
    """Issue 27: AESEV and the ADSL demographics (AGE, AGEGR1(N), SEX, RACE(N)) are the sponsor's; ATOXGR is not AESEV relabelled (the pilot sends no
    CTCAE grade: ATOXGR is null on every record); AOCCSFL/AOCCPFL (first TEAE per body system
    and per preferred term) agree on >= 99% of records; TRTA/TRTAN are ADSL's TRT01A/TRT01AN
    (the actual treatment: they differ from the pilot's only on AEs of the 12 subjects whose
    DM.ACTARM is the low dose)."""
    m = adae_merged
    pairs = [
        ("aesev", "AESEV"),
        ("aoccsfl", "AOCCSFL"),
        ("aoccpfl", "AOCCPFL"),
        ("age", "AGE"),
        ("agegr1", "AGEGR1"),
        ("agegr1n", "AGEGR1N"),
        ("sex", "SEX"),
        ("race", "RACE"),
        ("racen", "RACEN"),
    ]
    rows = [compute_agreement(m, o, r, ["USUBJID", "AESEQ"]) for o, r in pairs]
    trt = [
        compute_agreement(m, o, r, ["USUBJID", "AESEQ"])
        for o, r in (("trta", "TRTA"), ("trtan", "TRTAN"))
    ]
    with capsys.disabled():
        print("\n" + format_table("ADAE, issue 27 variables", rows + trt))
    assert all(r.rate >= CORE_MIN for r in rows), [(r.ref, r.rate, r.examples) for r in rows]
    assert m["atoxgr"].isna().all() and set(m["atoxgrsc"]) == {"AESEV"}
    dm, _ = pyreadstat.read_xport(str(CONFORMANCE / "cdiscpilot01" / "dm.xpt"))
    switched = set(dm.loc[dm["ARMCD"] != dm["ACTARMCD"], "USUBJID"])
    differs = m[
        [compute_norm(a) != compute_norm(b) for a, b in zip(m["trta"], m["TRTA"], strict=True)]
    ]
    assert set(differs["USUBJID"]) <= switched
