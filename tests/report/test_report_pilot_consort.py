"""The CDISC pilot's CONSORT (issue 26): an Alzheimer's study has no baseline myeloma data, so
this protocol's eligibility criteria were never assessed on it; the flow must say so, not
"Eligible 0".

The pilot's DM (conformance/cdiscpilot01/dm.xpt) holds 306 subjects: 52 with ARMCD Scrnfail,
254 randomised (Pbo 86, Xan_Hi 84, Xan_Lo 84), so 52 screened were not enrolled.
"""

from __future__ import annotations

import re

import pytest

from cfz_platform.report.data import ReportData
from cfz_platform.report.marts import MartReader
from cfz_platform.report.sections.flow import NOT_ASSESSED, build_consort


@pytest.fixture(scope="module")
def warehouse_db(pilot_warehouse: str) -> str:
    """A copy of the session's published CDISC pilot."""
    return pilot_warehouse


def _text(html: str) -> str:
    """The section's words: tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_pilot_consort_says_eligibility_was_not_assessed_under_this_protocol(db):
    html = str(build_consort(ReportData(MartReader(db))).items[0])
    text = _text(html)
    assert "Eligible 0" not in text and "Not eligible" not in text
    assert "Eligibility not assessed under this protocol" in text
    assert _text(NOT_ASSESSED) in text
    assert "Screened 306" in text and "Screened, not enrolled: 52" in text
    assert "Enrolled 254" in text
    # no failed criterion is listed for a study the criteria were not applied to
    assert "E1" not in text.replace("E1-E7", "")
