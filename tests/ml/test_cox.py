"""The numpy Cox fit (ml/cox.py) is lifelines' CoxPHFitter model: same coefficients and risk
scores, with and without tied times, and a constant covariate gets coefficient 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from cfz_platform.ml.cox import compute_cox_fit


@pytest.mark.parametrize(("n", "tied"), [(40, False), (60, True), (300, True)])
def test_the_numpy_fit_is_lifelines_model(n, tied):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 4))
    x[:, 3] = rng.random(n) < 0.4  # an indicator, as the group is
    duration = rng.exponential(200, n) * np.exp(-0.5 * x[:, 0])
    if tied:  # assessment days: many progressions share a day
        duration = np.ceil(duration / 28) * 28
    event = (rng.random(n) < 0.7).astype(int)
    frame = pd.DataFrame(x, columns=list("abcd")).assign(duration=duration, event=event)
    reference = CoxPHFitter(penalizer=0.1).fit(frame, "duration", "event")
    fit = compute_cox_fit(x, duration, event, 0.1)
    assert fit.coef == pytest.approx(reference.params_.to_numpy(), abs=1e-4)
    expected = reference.predict_log_partial_hazard(frame[list("abcd")]).to_numpy()
    assert fit.log_partial_hazard(x) == pytest.approx(expected, abs=1e-4)
    # a stronger effect of a on the hazard ranks the subjects the same way
    assert np.sign(fit.coef[0]) == np.sign(reference.params_["a"]) == 1


def test_a_constant_covariate_gets_no_coefficient():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(size=30), np.ones(30)])
    fit = compute_cox_fit(x, rng.exponential(100, 30), np.ones(30), 0.1)
    assert fit.coef[1] == 0.0 and fit.coef[0] != 0.0
