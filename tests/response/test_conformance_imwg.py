"""admiralonco IMWG conformance: investigator responses in, confirmed best response out.

The public pharmaversesdtm RS/SUPPRS (conformance/imwg) are loaded as text into schema
``conformance_imwg``; dbt builds ``conformance_imwg__best_response`` with the same
``imwg_confirm_responses`` / ``imwg_best_response`` macros the study marts use.

Expected values are hand-derived from the admiralonco IMWG vignette rules
(derive_confirmed_response + ANL01FL/ANL02FL/ANL03FL + CBOR events):
- a response (MR+) is confirmed at min(own, next non-NE) when the next is MR+ and not after
  NACTDT; otherwise it becomes SD;  SD stays SD;
- PD is confirmed by PDIFL (imaging), DTHPDFL (death from PD) or a next PD; else NE;
- records on/after NACTDT are dropped (ANL02FL), records after the first confirmed PD
  are dropped (ANL03FL); CBOR = first of sCR, CR, VGPR, PR, MR, SD, PD, NE; MISSING if none.
"""

from __future__ import annotations

import csv

import pytest
from psycopg import sql

from cfz_platform.transform.dbt_runner import run_dbt
from tests.conftest import CONFORMANCE

IMWG = CONFORMANCE / "imwg"

# Expected CBOR per subject, with the hand derivation (sequence -> confirmed sequence).
EXPECTED = {
    "01-701-1015": "PD",  # PD with DTHPDFL: death from PD confirms it
    "01-701-1028": "sCR",  # sCR,sCR,CR -> sCR,CR,SD (partial date 2013-08 -> 2013-08-31)
    "01-701-1034": "CR",  # CR,CR,sCR -> CR,CR,SD
    "01-701-1097": None,  # only PD on 2014-02-11, after NACTDT 2014-02-10 -> no record: MISSING
    "01-701-1115": "PD",  # PD by imaging (PDIFL) needs no confirmation
    "01-701-1118": "VGPR",  # sCR,VGPR,CR,VGPR -> VGPR,VGPR,VGPR,SD
    "01-701-1130": "VGPR",  # VGPR,sCR,VGPR,VGPR -> VGPR,VGPR,VGPR,SD
    "01-701-1133": "PR",  # sCR,PR,CR,PR -> PR,PR,PR,SD
    "01-701-1146": "NE",  # single serum/urine PD, nothing after -> unconfirmed -> NE
    "01-701-1148": "PR",  # VGPR,PR,PR,PR; NACTDT 2014-02-07: PR(12-27) next after NACTDT -> SD;
    # 2014-02-08 dropped -> PR,PR,SD
    "01-701-1153": "MR",  # by date sCR,MR,SD,sCR,MR -> MR,SD,SD,MR,SD (unscheduled visits)
    "01-701-1203": "MR",  # CR,MR,CR,SD -> MR,MR,SD,SD: a CR followed by MR confirms MR only
    "01-701-1211": "MR",  # VGPR,MR -> MR,SD
    "01-701-1239": "MR",  # PR,MR,MR,VGPR -> MR,MR,MR,SD
    "01-701-1275": "MR",  # MR,PR -> MR,SD (the last PR is unconfirmed)
    "01-701-1287": "PR",  # PR,PR,PD,PD with NACTDT 2014-05-30: PR,SD,PD kept (PD 05-29 < NACTDT)
    "01-701-1294": "SD",  # PR,SD -> SD,SD
    "01-701-1302": "PD",  # imaging PD first; the later CR is after the first PD (ANL03FL)
    "01-701-1345": "MR",  # MR,MR,PD,PR -> MR,SD,NE (PD followed by PR),SD
    "01-701-1363": "SD",  # NE,CR -> NE,SD
    "01-701-1415": "MR",  # PR,NE,MR,MR -> PR(next non-NE MR)=MR,MR,SD
    "01-702-1082": "SD",  # PD (next CR, unconfirmed) -> NE; CR last -> SD
    "01-703-1076": "SD",  # PR,NE -> PR with no confirming assessment -> SD
}


def _load_csv(db, schema: str, table: str, path) -> int:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.lower() for h in next(reader)]
        rows = list(reader)
    db.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    db.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(schema, table)))
    db.execute(
        sql.SQL("create table {} ({})").format(
            sql.Identifier(schema, table),
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(h)) for h in header),
        )
    )
    with (
        db.cursor() as cur,
        cur.copy(
            sql.SQL("copy {} ({}) from stdin").format(
                sql.Identifier(schema, table), sql.SQL(", ").join(sql.Identifier(h) for h in header)
            )
        ) as cp,
    ):
        for r in rows:
            cp.write_row([v if v != "" else None for v in r])
    return len(rows)


@pytest.fixture(scope="module")
def best_response(db) -> dict[str, str | None]:
    assert _load_csv(db, "conformance_imwg", "rs_onco_imwg", IMWG / "rs_onco_imwg.csv") == 65
    _load_csv(db, "conformance_imwg", "supprs_onco_imwg", IMWG / "supprs_onco_imwg.csv")
    run_dbt(
        ["build", "--select", "conformance_imwg"],
        vars={"response_conformance_imwg": True},
        gated_build=True,  # the module's own warehouse
    )
    rows = db.execute(
        "select usubjid, best_response from staging.conformance_imwg__best_response"
    ).fetchall()
    return dict(rows)


def test_every_subject_is_derived(best_response):
    assert set(best_response) == set(EXPECTED)


@pytest.mark.parametrize("usubjid", sorted(EXPECTED))
def test_confirmed_best_response_matches_admiralonco(best_response, usubjid):
    assert best_response[usubjid] == EXPECTED[usubjid]


def test_agreement_rate(best_response):
    agree = sum(best_response[s] == e for s, e in EXPECTED.items())
    print(f"admiralonco IMWG CBOR agreement: {agree}/{len(EXPECTED)}")
    assert agree == len(EXPECTED)
