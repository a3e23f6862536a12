"""ADaM on the session's simulated trial (tests/trial_template.py: the default trial, ingested,
then the raw gate, dbt build into marts_candidate + adam_candidate, mart gate, publish, as
`cfz transform` does), read from a copy of that warehouse: one derivation, two shapes.

ADTTE equals fct_time_to_event, ADRS CBOR equals fct_best_response, ADSL has one row per
subject of dim_subject with the same values, ADLB AVAL/BASE/ATOXGR equal fct_lab_results;
bi_reader reads adam; a planted ADTTE difference blocks the gate; `cfz export adam` writes XPT
v5 files that read back with their names, labels, types and values.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pyreadstat
import pytest

from tests.conftest import run_cfz


def test_export_before_anything_is_published_says_what_to_do(empty_warehouse, tmp_path):
    proc = run_cfz("export", "adam", "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert (
        len(lines) == 1 and "missing from schema 'adam'" in lines[0] and "cfz transform" in lines[0]
    )


def test_export_replaces_links_planted_in_the_folder_and_never_writes_their_targets(
    empty_warehouse, tmp_path
):
    """A symbolic link planted in the output folder (adsl.xpt -> a file of the user's) had its
    target overwritten: the files are written beside the folder and renamed into place."""
    from psycopg import sql

    from cfz_platform.db import warehouse
    from cfz_platform.export.adam import export_adam
    from cfz_platform.export.metadata import ADAM_DATASETS, load_adam_metadata

    meta = load_adam_metadata()
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("create schema if not exists adam")
        conn.execute("create table adam.adam_datasets (dataset text, reason text)")
        for name in ADAM_DATASETS:
            cols = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(v.name), sql.SQL(v.data_type))
                for v in meta[name].variables
            )
            conn.execute(sql.SQL("create table {} ({})").format(sql.Identifier("adam", name), cols))
        conn.execute("insert into adam.adsl (studyid, usubjid) values ('CFZ', 'CFZ-001')")
        out = tmp_path / "adam"
        out.mkdir()
        victims = {}
        for name in ("adsl.xpt", "define.json", "define.html"):
            victims[name] = tmp_path / f"victim-{name}"
            victims[name].write_text("the user's own file\n")
            (out / name).symlink_to(victims[name])

        export_adam(conn, out)

    for name, victim in victims.items():
        assert victim.read_text() == "the user's own file\n", name
        assert (out / name).is_file() and not (out / name).is_symlink(), name
    frame, _ = pyreadstat.read_xport(str(out / "adsl.xpt"))
    assert list(frame["USUBJID"]) == ["CFZ-001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "adam",
        *sorted(f"victim-{n}" for n in victims),
    ]


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's built trial."""
    return trial_warehouse


@pytest.fixture(scope="module")
def published(warehouse_db, db) -> str:
    """The copy holds the published build: marts and adam."""
    assert db.execute("select count(*) from adam.adsl").fetchone()[0] > 20
    return warehouse_db


def test_adtte_equals_fct_time_to_event(published, db):
    n = db.execute("select count(*) from adam.adtte").fetchone()[0]
    assert n > 20  # a TTP row per treated subject, plus DOR / PFSMAINT rows
    diff = db.execute(
        "select count(*) from marts.fct_time_to_event t full join adam.adtte a using (usubjid, paramcd) "
        "where a.usubjid is null or t.usubjid is null or (a.startdt, a.adt, a.aval, a.cnsr = 0) "
        "is distinct from (t.startdt, t.adt, t.aval, t.cnsr = 0) "
        "or a.evntdesc is distinct from coalesce(t.evntdesc, t.cnsdtdsc)"
    ).fetchone()[0]
    assert diff == 0
    # every PD event points at the ADRS assessment it was dated by
    bad = db.execute(
        "select count(*) from adam.adtte a where a.cnsr = 0 and a.srcdom = 'ADRS' and not exists ("
        "select 1 from adam.adrs r where r.usubjid = a.usubjid and r.paramcd = 'OVR' and r.aseq = a.srcseq "
        "and r.adt = a.adt)"
    ).fetchone()[0]
    assert bad == 0


def test_adrs_cbor_equals_fct_best_response(published, db):
    rows = db.execute(
        "select b.usubjid, b.best_response, a.avalc, b.best_response_date, a.adt from marts.fct_best_response b "
        "full join (select * from adam.adrs where paramcd = 'CBOR') a using (usubjid)"
    ).fetchall()
    assert len(rows) >= 20
    assert all(r[1] == r[2] and r[3] == r[4] for r in rows)
    # OVR rows are the derived assessments; BOR (unconfirmed) is never below CBOR
    n_ovr, n_assess = db.execute(
        "select (select count(*) from adam.adrs where paramcd = 'OVR'), "
        "(select count(*) from marts.fct_response_assessments)"
    ).fetchone()
    assert n_ovr == n_assess > 0
    worse = db.execute(
        "select count(*) from adam.adrs c join adam.adrs u using (usubjid) "
        "where c.paramcd = 'CBOR' and u.paramcd = 'BOR' and u.aval < c.aval"
    ).fetchone()[0]
    assert worse == 0


def test_adsl_is_dim_subject(published, db):
    diff = db.execute(
        "select count(*) from marts.dim_subject d full join adam.adsl a using (usubjid) "
        "where a.usubjid is null or d.usubjid is null "
        "or (a.trtsdt, a.trtedt, a.age, a.sex, a.doselvl, a.cohort, a.grp, a.issstg) is distinct from "
        '(d.first_dose_date, d.last_dose_date, d.age, d.sex, d.doselvl, d.cohort, d."group", d.iss_stage) '
        "or a.saffl is distinct from case when d.saffl then 'Y' end "
        "or a.respevfl is distinct from case when d.respevalfl then 'Y' end "
        "or a.dltevlfl is distinct from case when d.dltevalfl then 'Y' end "
        "or a.imidfl is distinct from case when d.imid_regimen then 'Y' end "
        "or a.mntfl is distinct from case when d.entered_maintenance then 'Y' end"
    ).fetchone()[0]
    assert diff == 0
    assert db.execute("select count(*) - count(distinct usubjid) from adam.adsl").fetchone()[0] == 0
    # flags are 'Y' or null, never 'N'
    assert (
        db.execute(
            "select count(*) from adam.adsl where 'N' in (saffl, ittfl, respevfl, dltevlfl, imidfl, mntfl)"
        ).fetchone()[0]
        == 0
    )


def test_adlb_values_and_grades_equal_fct_lab_results(published, db):
    diff = db.execute(
        "select count(*) from marts.fct_lab_results f full join adam.adlb a on a.srckey = f.lab_record_key "
        "where a.srckey is null or f.lab_record_key is null "
        "or (a.aval, a.base, a.chg, a.atoxgrl, a.atoxgrh, a.btoxgrl, a.btoxgrh, a.ablfl) is distinct from "
        "(f.aval, f.base, f.chg, f.atoxgrl, f.atoxgrh, f.btoxgrl, f.btoxgrh, f.ablfl)"
    ).fetchone()[0]
    assert diff == 0
    # serum and urine M-protein are two parameters
    codes = {
        r[0]
        for r in db.execute("select distinct paramcd from adam.adlb where lbtestcd = 'MPROTEIN'")
    }
    assert codes == {"MPROTEIN", "MPROTEUR"}


def test_adex_cycles_equal_fct_cycles(published, db):
    diff = db.execute(
        "select count(*) from marts.fct_cycles c full join (select * from adam.adex where paramcd = 'RDI') a "
        "on a.usubjid = c.usubjid and a.acycle = c.cycle "
        "where a.usubjid is null or c.usubjid is null or a.aval is distinct from c.relative_dose_intensity"
    ).fetchone()[0]
    assert diff == 0
    # CUMDOSE of the last cycle = all mg/m2 delivered
    bad = db.execute(
        "select count(*) from (select usubjid, max(aval) as cum from adam.adex where paramcd = 'CUMDOSE' group by usubjid) a "
        "join (select usubjid, sum(delivered_mg_m2) as total from marts.fct_cycles group by usubjid) c using (usubjid) "
        "where a.cum <> c.total"
    ).fetchone()[0]
    assert bad == 0


def test_bi_reader_reads_adam(published):
    import psycopg

    from cfz_platform.db import warehouse

    with psycopg.connect(warehouse.bi_settings().conninfo) as bi:
        assert bi.execute("select count(*) from adam.adsl").fetchone()[0] > 20
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("select count(*) from adam_previous.adsl")


def test_mart_gate_blocks_an_adtte_that_differs_from_the_marts(published, db):
    from cfz_platform.quality import run_gate

    db.execute(
        "update adam.adtte set aval = aval + 1 where usubjid = (select min(usubjid) from adam.adtte) "
        "and paramcd = 'TTP'"
    )
    try:
        report = run_gate("mart", marts_schema="marts", run_id="adam_plant", build_docs=False)
        failing = [(f.suite, f.check) for f in report.blocking_failures]
        assert ("mart_gate.adtte", "equals_fct_time_to_event") in failing
        assert failing == [("mart_gate.adtte", "equals_fct_time_to_event")]
    finally:
        db.execute(
            "update adam.adtte set aval = aval - 1 where usubjid = (select min(usubjid) from adam.adtte) "
            "and paramcd = 'TTP'"
        )


def test_xpt_round_trip(published, db, tmp_path):
    out = tmp_path / "adam"
    proc = run_cfz("export", "adam", "--out", str(out))
    assert "ADSL:" in proc.stdout and "define.json" in proc.stdout
    meta = json.loads((out / "define.json").read_text())
    for name in ("adsl", "adae", "adlb", "adex", "adrs", "adtte", "admh", "advs", "adcm"):
        entry = next(d for d in meta["datasets"] if d["dataset"] == name.upper())
        n = db.execute(f"select count(*) from adam.{name}").fetchone()[0]
        if n == 0:
            assert entry["status"] == "empty" and not (out / f"{name}.xpt").exists()
            continue
        frame, m = pyreadstat.read_xport(str(out / f"{name}.xpt"))
        assert m.table_name == name.upper() and len(frame) == n == entry["records"]
        names = [v["name"] for v in entry["variables"]]
        assert list(frame.columns) == names and all(len(c) <= 8 and c == c.upper() for c in names)
        labels = {v["name"]: v["label"] for v in entry["variables"]}
        assert m.column_names_to_labels == labels and all(len(x) <= 40 for x in labels.values())
        for v in entry["variables"]:
            kind = m.readstat_variable_types[v["name"]]
            assert kind == ("double" if v["type"] == "Num" else "string"), (name, v)
            if v["format"] == "DATE9.":
                assert m.original_variable_types[v["name"]] == "DATE9"
    # values: ADTTE of one subject read back equals the warehouse row
    frame, _ = pyreadstat.read_xport(str(out / "adtte.xpt"))
    usubjid, startdt, adt, aval, cnsr = db.execute(
        "select usubjid, startdt, adt, aval, cnsr from adam.adtte where paramcd = 'TTP' order by usubjid limit 1"
    ).fetchone()
    row = frame[(frame["USUBJID"] == usubjid) & (frame["PARAMCD"] == "TTP")].iloc[0]
    read_back = (row.STARTDT, row.ADT, row.AVAL, row.CNSR)
    assert read_back == (startdt, adt, float(aval), float(cnsr))
    assert isinstance(row.ADT, dt.date)
    html = (out / "define.html").read_text()
    assert "Time-to-Event Analysis Dataset" in html and "ADT - STARTDT + 1" in html


def test_define_xml_validates_and_describes_the_myeloma_package(published, db, tmp_path):
    """define.xml of the myeloma trial: schema-valid Define-XML 2.1; every dataset written,
    with its class and XPT; derived variables carry their dbt derivation as a method; PARAMCD
    of ADTTE has a codelist decoded by PARAM and a WhereClauseDef per parameter."""
    from lxml import etree

    from cfz_platform.export import export_adam
    from tests.adam.define_check import NS, groups, items, schema_errors

    result = export_adam(db, tmp_path)
    assert schema_errors(result.define_xml) == []
    doc = etree.parse(str(result.define_xml))
    assert set(groups(doc)) == {
        "ADSL",
        "ADAE",
        "ADLB",
        "ADEX",
        "ADRS",
        "ADTTE",
        "ADMH",
        "ADVS",
        "ADCM",
    }
    tte = groups(doc)["ADTTE"]
    assert tte.find("def:Class", NS).get("Name") == "BASIC DATA STRUCTURE"
    assert tte.find("def:Class/def:SubClass", NS).get("Name") == "TIME-TO-EVENT"
    # AVAL of ADTTE is derived: its ItemRef names the method holding the dbt derivation
    ref = tte.find("odm:ItemRef[@ItemOID='IT.ADTTE.AVAL']", NS)
    method = doc.find(f".//odm:MethodDef[@OID='{ref.get('MethodOID')}']", NS)
    assert "ADT - STARTDT + 1" in method.findtext(
        "odm:Description/odm:TranslatedText", namespaces=NS
    )
    params = dict(db.execute("select distinct paramcd, param from adam.adtte").fetchall())
    decoded = {
        i.get("CodedValue"): i.findtext("odm:Decode/odm:TranslatedText", namespaces=NS)
        for i in doc.iterfind(".//odm:CodeList[@OID='CL.PARAMCD_ADTTE']/odm:CodeListItem", NS)
    }
    assert decoded == params
    where = {
        w.findtext("odm:RangeCheck/odm:CheckValue", namespaces=NS)
        for w in doc.iterfind(".//def:WhereClauseDef", NS)
        if w.get("OID").startswith("WC.ADTTE.")
    }
    assert where == set(params)
    # every ItemDef has an origin; every flag is on the NY codelist
    assert all(i.find("def:Origin", NS) is not None for i in items(doc).values())
    assert items(doc)["IT.ADSL.SAFFL"].find("odm:CodeListRef", NS).get("CodeListOID") == "CL.NY"


def test_adsl_actual_treatment_follows_the_regimen_given(published, db):
    """Issue 27: TRT01A is the treatment actually received: a subject assigned one group whose
    index regimen implies the other (dim_subject.group_mismatch) gets the other group's arm;
    TRT01PN/TRT01AN code Group A 1 and Group B 2; SUBJID is DM.SUBJID; AGEGR1N follows AGEGR1."""
    rows = db.execute(
        "select a.usubjid, a.arm, a.trt01a, a.trt01pn, a.trt01an, d.derived_group "
        "from adam.adsl a join marts.dim_subject d using (usubjid) "
        "where d.group_mismatch and d.saffl"
    ).fetchall()
    assert rows, "the default trial has an armcd-mismatch subject"
    for usubjid, arm, trt01a, trt01pn, trt01an, derived in rows:
        assert trt01a != arm and trt01a.startswith(f"Group {derived}"), usubjid
        assert {trt01pn, trt01an} == {1, 2}
    subjids = db.execute(
        "select count(*) filter (where subjid is null or usubjid not like '%%' || subjid), count(*) from adam.adsl"
    ).fetchone()
    assert subjids[0] == 0 and subjids[1] > 20
    groups = dict(
        db.execute("select distinct agegr1, agegr1n from adam.adsl where age is not null")
    )
    assert set(groups) <= {"<65", "65-80", ">80"} and all(
        groups[k] == n for k, n in (("<65", 1), ("65-80", 2), (">80", 3)) if k in groups
    )


def test_adae_aeseq_traces_every_record_to_sdtm(published, db):
    """Issue 27: the feed sends no AESEQ; ADAE.AESEQ numbers each subject's AE records 1..n (by
    AESTDTC, AESPID), so (USUBJID, AESEQ) is a key and with AESPID traces to the AE record; the
    first-occurrence flags are one per subject, body system and preferred term."""
    n, nulls, keys = db.execute(
        "select count(*), count(*) filter (where aeseq is null), count(distinct (usubjid, aeseq)) "
        "from adam.adae"
    ).fetchone()
    assert n > 50 and nulls == 0 and keys == n
    gaps = db.execute(
        "select count(*) from (select usubjid, max(aeseq) as m, count(*) as c from adam.adae "
        "group by usubjid) x where m <> c"
    ).fetchone()[0]
    assert gaps == 0
    dup = db.execute(
        "select (select count(*) from (select usubjid, aebodsys from adam.adae where aoccsfl = 'Y' "
        "group by 1, 2 having count(*) > 1) s) + (select count(*) from (select usubjid, aebodsys, "
        "aedecod from adam.adae where aoccpfl = 'Y' group by 1, 2, 3 having count(*) > 1) p)"
    ).fetchone()[0]
    assert dup == 0
    missing = db.execute(
        "select count(*) from (select distinct usubjid, aebodsys from adam.adae where trtemfl = 'Y') t "
        "where not exists (select 1 from adam.adae a where a.usubjid = t.usubjid and "
        "a.aebodsys is not distinct from t.aebodsys and a.aoccsfl = 'Y')"
    ).fetchone()[0]
    assert missing == 0


def test_last_known_alive_has_one_definition(published, db):
    """dim_subject.last_known_alive_date is the one definition of the last date known alive:
    ADSL.LSTALVDT is it for every subject, and every censored OS record is censored at it;
    it is the latest dated record of the subject (last dose, lab, AE, assessment), at most
    the death date."""
    rows = db.execute(
        "select d.usubjid, d.last_known_alive_date, s.lstalvdt, d.death_date, "
        "greatest(d.last_dose_date, (select max(lbdt) from marts.fct_lab_results l "
        "where l.usubjid = d.usubjid), (select max(greatest(aestdt, aeendt)) from "
        "marts.fct_adverse_events a where a.usubjid = d.usubjid), (select max(assessment_date) "
        "from marts.fct_response_assessments r where r.usubjid = d.usubjid)) "
        "from marts.dim_subject d join adam.adsl s using (usubjid)"
    ).fetchall()
    assert rows and all(r[1] is not None for r in rows if r[4] is not None)
    for usubjid, lka, lstalvdt, death, latest in rows:
        assert lstalvdt == lka, usubjid
        expected = min(latest, death) if death and latest else latest
        assert lka == expected, (usubjid, lka, latest, death)
    censored_os = db.execute(
        "select t.usubjid, t.adt, d.last_known_alive_date from adam.adtte t "
        "join marts.dim_subject d using (usubjid) where t.paramcd = 'OS' and t.cnsr <> 0"
    ).fetchall()
    assert censored_os and all(adt == lka for _, adt, lka in censored_os), censored_os


def test_adtte_overall_pfs_and_os(published, db, built_trial_template):
    """Issue 27, domain.md 4: every treated subject has one PFS and one OS record from the first
    dose. OS: an event (CNSR 0, EVNTDESC DEATH, ADSL.DTHDT) exactly for the subjects who died,
    else censored (CNSR 6) at ADSL.LSTALVDT; PFS is an event on or before a TTP event, else TTP's
    censoring or a death; both agree with the simulator's truth (pfs_days/pfs_event; OS days where it died)."""
    rows = db.execute(
        "select t.usubjid, t.paramcd, t.startdt = s.trtsdt, t.adt, t.aval, t.cnsr, t.evntdesc, "
        "t.cnsdtdsc, t.srcvar, s.dthdt, s.lstalvdt from adam.adtte t join adam.adsl s using "
        "(usubjid) where t.paramcd in ('PFS', 'OS', 'TTP')"
    ).fetchall()
    treated = {r[0] for r in db.execute("select usubjid from adam.adsl where saffl = 'Y'")}
    by = {(r[0], r[1]): r for r in rows}
    assert {u for u, p in by if p == "PFS"} == treated == {u for u, p in by if p == "OS"}
    assert all(r[2] for r in rows)  # every one starts at the first dose (TRTSDT)
    deaths = 0
    for u in treated:
        os_ = by[(u, "OS")]
        if os_[9] is not None:
            deaths += 1
            assert (os_[3], os_[5], os_[6], os_[8]) == (os_[9], 0, "DEATH", "DTHDT"), os_
        else:
            assert (os_[3], os_[5], os_[7], os_[8]) == (
                os_[10],
                6,
                "LAST DATE KNOWN ALIVE",
                "LSTALVDT",
            ), os_
        pfs, ttp = by[(u, "PFS")], by[(u, "TTP")]
        if ttp[5] == 0:  # a TTP event: PFS is an event too, on or before it
            assert pfs[5] == 0 and pfs[3] <= ttp[3], (pfs, ttp)
        else:  # TTP censored: PFS censored the same way, or a death (not from PD) event
            assert (pfs[3], pfs[5], pfs[7]) == (ttp[3], ttp[5], ttp[7]) or (
                pfs[5],
                pfs[6],
                pfs[3],
            ) == (0, "DEATH", os_[9]), (pfs, ttp)
    assert deaths > 0
    with open(built_trial_template.truth / "subjects.csv", encoding="utf-8") as fh:
        truth = [t for t in csv.DictReader(fh) if t["usubjid"] in treated]
    assert len(truth) == len(treated)
    for t in truth:
        pfs, os_ = by[(t["usubjid"], "PFS")], by[(t["usubjid"], "OS")]
        assert (pfs[4], pfs[5] == 0) == (int(t["pfs_days"]), t["pfs_event"] == "1"), (t, pfs)
        assert (os_[5] == 0) == (t["os_event"] == "1"), (t, os_)
        if t["os_days"]:
            assert os_[4] == int(t["os_days"]), (t, os_)


def test_adtte_cnsr_codes_one_per_censoring_reason(published, db):
    """Issue 27 (ADaMIG: CNSR 0 event, 1+ one code per censoring reason): every censored
    record carries the code of its CNSDTDSC (var adam_censor_codes), no reason shares a code
    and no code is the catch-all 9; events are 0 with EVNTDESC and no CNSDTDSC."""
    rows = db.execute(
        "select cnsr, cnsdtdsc, evntdesc, count(*) from adam.adtte group by 1, 2, 3"
    ).fetchall()
    events = [r for r in rows if r[0] == 0]
    censored = [r for r in rows if r[0] != 0]
    assert events and all(r[1] is None and r[2] for r in events)
    assert censored and all(r[1] and r[2] == r[1] for r in censored)
    codes: dict[int, set[str]] = {}
    for cnsr, reason, _, _ in censored:
        codes.setdefault(cnsr, set()).add(reason)
    assert all(len(reasons) == 1 for reasons in codes.values()), codes
    assert 9 not in codes and len(codes) >= 2
    assert codes.get(1) == {"LAST RESPONSE ASSESSMENT WITHOUT PD"}


def test_adlb_sequence_parameter_and_visit_numbers(published, db):
    """Issue 27: ADLB has ASEQ (1..n per subject, a key with USUBJID), PARAMN (one number per
    PARAMCD) and AVISITN (one number per AVISIT, visits in time order: C1D1 before C2D1)."""
    n, keys, gaps = db.execute(
        "select count(*), count(distinct (usubjid, aseq)), "
        "(select count(*) from (select usubjid from adam.adlb group by usubjid "
        "having max(aseq) <> count(*)) g) from adam.adlb"
    ).fetchone()
    assert n > 1000 and keys == n and gaps == 0
    assert (
        db.execute(
            "select count(*) from (select paramcd from adam.adlb group by paramcd "
            "having count(distinct paramn) <> 1) x"
        ).fetchone()[0]
        == 0
    )
    assert (
        db.execute(
            "select count(*) from (select paramn from adam.adlb group by paramn "
            "having count(distinct paramcd) <> 1) x"
        ).fetchone()[0]
        == 0
    )
    visits = dict(
        db.execute("select distinct avisit, avisitn from adam.adlb where avisit is not null")
    )
    assert len(set(visits.values())) == len(visits)
    if "C1D1" in visits and "C2D1" in visits:
        assert visits["C1D1"] < visits["C2D1"]


def test_adrs_holds_both_evaluators(published, db):
    """Issue 27: ADRS holds the investigator's responses beside the derived ones: INVOVR on
    every assessment the investigator rated (same ASEQ and date as its OVR), INVCBOR per
    subject equal to fct_best_response.investigator_best_response; AGREEFL counts the
    assessments where both agree, as fct_response_assessments does."""
    n_inv, n_rated = db.execute(
        "select (select count(*) from adam.adrs where paramcd = 'INVOVR' and rseval = 'INVESTIGATOR'), "
        "(select count(*) from marts.fct_response_assessments where investigator_response is not null)"
    ).fetchone()
    assert n_inv == n_rated > 20
    unmatched = db.execute(
        "select count(*) from adam.adrs i left join adam.adrs o on o.usubjid = i.usubjid "
        "and o.paramcd = 'OVR' and o.aseq = i.aseq and o.adt = i.adt where i.paramcd = 'INVOVR' "
        "and o.usubjid is null"
    ).fetchone()[0]
    assert unmatched == 0
    agree_adrs, agree_mart = db.execute(
        "select (select count(*) from adam.adrs where paramcd = 'OVR' and agreefl = 'Y'), "
        "(select count(*) from marts.fct_response_assessments where agrees_with_investigator)"
    ).fetchone()
    assert agree_adrs == agree_mart and 0 < agree_adrs < n_inv
    diff = db.execute(
        "select count(*) from marts.fct_best_response b full join (select * from adam.adrs "
        "where paramcd = 'INVCBOR') a using (usubjid) where a.avalc is distinct from "
        "b.investigator_best_response"
    ).fetchone()[0]
    assert diff == 0
    assert {r[0] for r in db.execute("select distinct rseval from adam.adrs")} == {
        "DERIVED",
        "INVESTIGATOR",
    }
