"""One default trial (45 patients, seed 20140127) shared by the simulator tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cfz_platform.simulate.params import SimConfig
from cfz_platform.simulate.trial import run_simulation


class Trial:
    def __init__(self, root: Path):
        self.root = root
        self.landing = root / "landing"
        self.truth = root / "truth"
        self.summary = run_simulation(SimConfig(), self.landing)
        with open(self.truth / "subjects.csv", encoding="utf-8") as fh:
            self.subjects = list(csv.DictReader(fh))
        with open(self.truth / "errors.csv", encoding="utf-8") as fh:
            self.errors = list(csv.DictReader(fh))
        with open(self.truth / "dose_escalation.csv", encoding="utf-8") as fh:
            self.escalation = list(csv.DictReader(fh))
        self.study = json.loads((self.truth / "study.json").read_text())
        self.enrolled = [s for s in self.subjects if s["is_screen_failure"] == "false"]


@pytest.fixture(scope="session")
def trial(tmp_path_factory) -> Trial:
    return Trial(tmp_path_factory.mktemp("sim"))
