"""Simulation settings and the reference tables the simulator draws from.

Everything clinical that the simulator assumes lives here, so that a reader can see the
ground rules of the simulated trial in one place. Nothing in the platform imports this
module: downstream code reads the feeds only (../shared/feeds.md).

Vendor test-code aliases used by some sites (a platform seed must map them):
``SPEP`` -> MPROTEIN/SERUM, ``UPEP`` -> MPROTEIN/URINE, ``M-PROTEIN`` -> MPROTEIN (serum or
urine, by LBSPEC), ``B2M`` -> B2MICG, ``PLT`` -> PLAT, ``ANC`` -> NEUT.

Drug-name synonyms used in CM (prior therapy): Velcade (bortezomib), Decadron
(dexamethasone), Medrol (methylprednisolone), Revlimid (lenalidomide), Thalomid
(thalidomide), Cytoxan (cyclophosphamide), Alkeran (melphalan), PLD and Doxil (pegylated
liposomal doxorubicin). On-study EX uses the upper-case generic names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

STUDYID = "CFZ-MM-01"
DOSE_LEVELS: tuple[float, ...] = (20.0, 27.0, 36.0, 45.0, 56.0)
REDUCED_FLOOR = 15.0
# true probability of a cycle-1 DLT per dose level (the MTD follows from these by 3+3)
DLT_PROBS: tuple[float, ...] = (0.04, 0.08, 0.15, 0.30, 0.55)
NON_EVALUABLE_PROB = 0.07  # escalation subject misses a cycle-1 dose for a non-toxic reason
SITES: tuple[str, ...] = ("101", "102", "103", "104", "105")
CARFILZOMIB_DAYS: tuple[int, ...] = (1, 2, 8, 9, 15, 16)
CYCLE_DAYS = 28
N_COMBINATION_CYCLES = 8
FOLLOWUP_AFTER_LAST_DOSE = 330  # data cutoff = last first dose + this many days
MAX_LAG_DAYS = 14  # a record is available at most this long after it happened

ARM_TEXT = {
    "A": "Group A: Carfilzomib & Non-IMiD Regimen",
    "B": "Group B: Carfilzomib & IMiD containing regimen",
    "SCRNFAIL": "Screen Failure",
}

# Regimen catalogue: partner drugs of the index (bortezomib) regimen, canonical EX names.
NON_IMID_REGIMENS: tuple[tuple[str, ...], ...] = (
    ("DEXAMETHASONE",),
    ("CYCLOPHOSPHAMIDE", "DEXAMETHASONE"),
    ("MELPHALAN", "PREDNISONE"),
    ("PEGYLATED LIPOSOMAL DOXORUBICIN", "DEXAMETHASONE"),
    ("PEGYLATED LIPOSOMAL DOXORUBICIN",),
    ("METHYLPREDNISOLONE",),
    ("DOXORUBICIN", "DEXAMETHASONE"),
)
IMID_REGIMENS: tuple[tuple[str, ...], ...] = (
    ("LENALIDOMIDE", "DEXAMETHASONE"),
    ("THALIDOMIDE", "DEXAMETHASONE"),
    ("LENALIDOMIDE",),
    ("MELPHALAN", "PREDNISONE", "THALIDOMIDE"),
)
IMIDS = frozenset({"LENALIDOMIDE", "THALIDOMIDE"})
NOT_ALLOWED_PARTNERS: tuple[str, ...] = ("Vorinostat", "Panobinostat", "Bendamustine")

CM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "BORTEZOMIB": ("Bortezomib", "Velcade", "BORTEZOMIB"),
    "DEXAMETHASONE": ("Dexamethasone", "Decadron", "DEXAMETHASONE"),
    "METHYLPREDNISOLONE": ("Methylprednisolone", "Medrol"),
    "PREDNISONE": ("Prednisone", "PREDNISONE"),
    "LENALIDOMIDE": ("Lenalidomide", "Revlimid"),
    "THALIDOMIDE": ("Thalidomide", "Thalomid"),
    "CYCLOPHOSPHAMIDE": ("Cyclophosphamide", "Cytoxan"),
    "MELPHALAN": ("Melphalan", "Alkeran"),
    "PEGYLATED LIPOSOMAL DOXORUBICIN": ("Pegylated liposomal doxorubicin", "PLD", "Doxil"),
    "DOXORUBICIN": ("Doxorubicin", "DOXORUBICIN"),
}

# On-study partner schedule: (dose, unit, route, frequency, days or (first, last) range)
PARTNER_SCHEDULE: dict[str, tuple[float, str, str, str, tuple[int, ...], bool]] = {
    # name: (dose, unit, route, freq, days, is_range)
    "DEXAMETHASONE": (20, "mg", "ORAL", "ONCE", (1, 2, 8, 9, 15, 16), False),
    "METHYLPREDNISOLONE": (100, "mg", "ORAL", "ONCE", (1, 8, 15), False),
    "PREDNISONE": (60, "mg/m2", "ORAL", "QD", (1, 4), True),
    "LENALIDOMIDE": (25, "mg", "ORAL", "QD", (1, 21), True),
    "THALIDOMIDE": (100, "mg", "ORAL", "QD", (1, 28), True),
    "CYCLOPHOSPHAMIDE": (300, "mg/m2", "ORAL", "ONCE", (1, 8, 15), False),
    "MELPHALAN": (9, "mg/m2", "ORAL", "QD", (1, 4), True),
    "DOXORUBICIN": (30, "mg/m2", "INTRAVENOUS", "ONCE", (8,), False),
    "PEGYLATED LIPOSOMAL DOXORUBICIN": (30, "mg/m2", "INTRAVENOUS", "ONCE", (8,), False),
}
# Earlier (non-bortezomib) lines of therapy, as CM drug lists
EARLIER_REGIMENS: tuple[tuple[str, ...], ...] = (
    ("LENALIDOMIDE", "DEXAMETHASONE"),
    ("MELPHALAN", "PREDNISONE"),
    ("THALIDOMIDE", "DEXAMETHASONE"),
    ("CYCLOPHOSPHAMIDE", "PREDNISONE"),
)


@dataclass(frozen=True)
class LabTest:
    """One lab test as the lab sends it: code, name, specimen, standard unit and range."""

    code: str
    name: str
    spec: str
    cat: str
    unit: str
    lo: float | None
    hi: float | None
    decimals: int


LAB_TESTS: dict[str, LabTest] = {
    t.code + ("/" + t.spec if t.code in ("MPROTEIN", "IMFIX") else ""): t
    for t in (
        LabTest("MPROTEIN", "M-Protein", "SERUM", "MYELOMA PANEL", "g/dL", 0.0, 0.0, 2),
        LabTest("MPROTEIN", "M-Protein", "URINE", "MYELOMA PANEL", "mg/24h", 0.0, 0.0, 0),
        LabTest("IMFIX", "Immunofixation", "SERUM", "MYELOMA PANEL", "", None, None, 0),
        LabTest("IMFIX", "Immunofixation", "URINE", "MYELOMA PANEL", "", None, None, 0),
        LabTest(
            "KLCFR", "Kappa Light Chain, Free", "SERUM", "MYELOMA PANEL", "mg/dL", 0.33, 1.94, 2
        ),
        LabTest(
            "LLCFR", "Lambda Light Chain, Free", "SERUM", "MYELOMA PANEL", "mg/dL", 0.57, 2.63, 2
        ),
        LabTest(
            "KLCLLCFR",
            "Kappa/Lambda Free Light Chain Ratio",
            "SERUM",
            "MYELOMA PANEL",
            "ratio",
            0.26,
            1.65,
            3,
        ),
        LabTest("B2MICG", "Beta-2 Microglobulin", "SERUM", "MYELOMA PANEL", "mg/L", 0.8, 2.2, 2),
        LabTest(
            "PLSCECE", "Plasma Cells/Total Cells", "BONE MARROW", "BONE MARROW", "%", 0.0, 5.0, 1
        ),
        LabTest("IGG", "Immunoglobulin G", "SERUM", "MYELOMA PANEL", "mg/dL", 700.0, 1600.0, 0),
        LabTest("IGA", "Immunoglobulin A", "SERUM", "MYELOMA PANEL", "mg/dL", 70.0, 400.0, 0),
        LabTest("IGM", "Immunoglobulin M", "SERUM", "MYELOMA PANEL", "mg/dL", 40.0, 230.0, 0),
        LabTest("ALB", "Albumin", "SERUM", "CHEMISTRY", "g/dL", 3.5, 5.2, 1),
        LabTest("CREAT", "Creatinine", "SERUM", "CHEMISTRY", "mg/dL", 0.6, 1.2, 2),
        LabTest("BILI", "Bilirubin", "SERUM", "CHEMISTRY", "mg/dL", 0.2, 1.2, 2),
        LabTest("CA", "Calcium", "SERUM", "CHEMISTRY", "mg/dL", 8.6, 10.3, 1),
        LabTest("ALT", "Alanine Aminotransferase", "SERUM", "CHEMISTRY", "U/L", 7.0, 40.0, 0),
        LabTest("AST", "Aspartate Aminotransferase", "SERUM", "CHEMISTRY", "U/L", 10.0, 40.0, 0),
        LabTest("LDH", "Lactate Dehydrogenase", "SERUM", "CHEMISTRY", "U/L", 120.0, 250.0, 0),
        LabTest("K", "Potassium", "SERUM", "CHEMISTRY", "mmol/L", 3.5, 5.1, 1),
        LabTest("SODIUM", "Sodium", "SERUM", "CHEMISTRY", "mmol/L", 135.0, 145.0, 0),
        LabTest("HGB", "Hemoglobin", "BLOOD", "HEMATOLOGY", "g/dL", 12.0, 16.0, 1),
        LabTest("PLAT", "Platelets", "BLOOD", "HEMATOLOGY", "10^9/L", 150.0, 400.0, 0),
        LabTest("NEUT", "Neutrophils", "BLOOD", "HEMATOLOGY", "10^9/L", 2.0, 7.5, 2),
        LabTest("WBC", "Leukocytes", "BLOOD", "HEMATOLOGY", "10^9/L", 4.0, 11.0, 2),
        LabTest("LYM", "Lymphocytes", "BLOOD", "HEMATOLOGY", "10^9/L", 1.0, 4.0, 2),
    )
}

# Physiologic ceilings (standard unit): a kinetic tail never sends a value above these
# (serum M-spike is bounded by total protein, ~12 g/dL; immunoglobulins likewise), so a
# large simulated cohort stays inside the raw gate's physically possible ranges.
# Marrow plasma cells are a share of all nucleated marrow cells: never above 100% (a packed
# marrow is ~95-98% plasma cells at most).
LAB_CEILING: dict[str, float] = {
    "MPROTEIN/SERUM": 12.0,
    "IGG": 15000.0,
    "IGA": 15000.0,
    "IGM": 15000.0,
    "KLCFR": 10000.0,
    "LLCFR": 10000.0,
    "MPROTEIN/URINE": 20000.0,
    "PLSCECE": 98.0,
}

# Alternative units: (unit, factor) with value_in_unit = value_in_standard * factor.
ALT_UNITS: dict[str, tuple[tuple[str, float], ...]] = {
    "MPROTEIN/SERUM": (("g/L", 10.0), ("mg/dL", 1000.0)),
    "MPROTEIN/URINE": (("g/24h", 0.001),),
    "KLCFR": (("mg/L", 10.0),),
    "LLCFR": (("mg/L", 10.0),),
    "B2MICG": (("mg/dL", 0.1), ("nmol/L", 1000.0 / 11.8)),
    "IGG": (("g/L", 0.01),),
    "IGA": (("g/L", 0.01),),
    "IGM": (("g/L", 0.01),),
    "ALB": (("g/L", 10.0),),
    "CREAT": (("umol/L", 88.42),),
    "BILI": (("umol/L", 17.1),),
    "CA": (("mmol/L", 0.2495),),
    "HGB": (("g/L", 10.0), ("mmol/L", 0.6206)),
    "PLAT": (("10^3/uL", 1.0), ("/mm3", 1000.0), ("GI/L", 1.0)),
    "NEUT": (("10^3/uL", 1.0), ("/mm3", 1000.0), ("GI/L", 1.0)),
    "WBC": (("10^3/uL", 1.0), ("/mm3", 1000.0), ("GI/L", 1.0)),
    "LYM": (("10^3/uL", 1.0), ("/mm3", 1000.0), ("GI/L", 1.0)),
    "K": (("mEq/L", 1.0),),
    "SODIUM": (("mEq/L", 1.0),),
}

# Site unit conventions (test key -> unit); tests not listed use the standard unit.
SITE_UNITS: dict[str, dict[str, str]] = {
    "101": {},
    "102": {
        "MPROTEIN/SERUM": "g/L",
        "MPROTEIN/URINE": "g/24h",
        "KLCFR": "mg/L",
        "LLCFR": "mg/L",
        "IGG": "g/L",
        "IGA": "g/L",
        "IGM": "g/L",
        "ALB": "g/L",
        "CREAT": "umol/L",
        "BILI": "umol/L",
        "CA": "mmol/L",
        "HGB": "g/L",
        "PLAT": "10^3/uL",
        "NEUT": "10^3/uL",
        "WBC": "10^3/uL",
        "LYM": "10^3/uL",
    },
    "103": {
        "MPROTEIN/SERUM": "mg/dL",
        "B2MICG": "nmol/L",
        "HGB": "mmol/L",
        "PLAT": "/mm3",
        "NEUT": "/mm3",
        "WBC": "/mm3",
        "LYM": "/mm3",
        "K": "mEq/L",
        "SODIUM": "mEq/L",
        "KLCFR": "mg/L",
        "LLCFR": "mg/L",
    },
    "104": {"B2MICG": "mg/dL", "PLAT": "GI/L", "NEUT": "GI/L", "WBC": "GI/L", "LYM": "GI/L"},
    "105": {},
}
# Site vendor aliases for LBTESTCD (test key -> code sent)
SITE_ALIASES: dict[str, dict[str, str]] = {
    "104": {"MPROTEIN/SERUM": "M-PROTEIN", "MPROTEIN/URINE": "M-PROTEIN"},
    "105": {
        "MPROTEIN/SERUM": "SPEP",
        "MPROTEIN/URINE": "UPEP",
        "B2MICG": "B2M",
        "PLAT": "PLT",
        "NEUT": "ANC",
    },
}
VENDOR_ALIASES: dict[str, str] = {
    "SPEP": "MPROTEIN (SERUM)",
    "UPEP": "MPROTEIN (URINE)",
    "M-PROTEIN": "MPROTEIN (LBSPEC decides)",
    "B2M": "B2MICG",
    "PLT": "PLAT",
    "ANC": "NEUT",
}

# Assay behaviour
ASSAY_CV = 0.065
SPEP_DETECTION = 0.1  # g/dL: below it electrophoresis reports 0
SERUM_IFE_DETECTION = 0.03  # g/dL
URINE_IFE_DETECTION = 10.0  # mg/24h
UPEP_DETECTION = 20.0  # mg/24h


@dataclass(frozen=True)
class SimConfig:
    """Arguments of one simulation run (the same config gives byte-identical output)."""

    patients: int = 45
    seed: int = 20140127
    deliveries: int = 12
    start_date: date = date(2024, 1, 8)  # the default trial ends before today (no future dates)
    error_rate: float = 0.01
    dose_levels: tuple[float, ...] = DOSE_LEVELS
    dlt_probs: tuple[float, ...] = DLT_PROBS
    screen_fail_share: float = 0.16
    armcd_mismatch_share: float = 0.02
    mc_replicas: int = 400
    scenarios: frozenset[str] = frozenset()  # boosted scenarios (simulate/scenarios.py)
    realistic_scenarios: bool = True  # the other scenarios at their realistic rates
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "patients": self.patients,
            "seed": self.seed,
            "deliveries": self.deliveries,
            "start_date": self.start_date.isoformat(),
            "error_rate": self.error_rate,
            "dose_levels": list(self.dose_levels),
            "dlt_probs": list(self.dlt_probs),
            "scenarios": sorted(self.scenarios),
            "realistic_scenarios": self.realistic_scenarios,
        }
