"""The trial simulator behind ``cfz simulate``: SDTM feed deliveries plus a ground truth.

Entry point: ``cfz_platform.simulate.trial.run_simulation``. Modules: params (settings,
reference tables, vendor aliases, synonyms), escalation (3+3), subjects (enrolment plan),
prior_therapy (CM + RS prior PD), kinetics (two-population M-protein model, Monte-Carlo
label probability), labs (LB rows and units), safety (AE), response (IMWG truth), course
(one subject's course, strung together from its phases: subject_sim (state, traits, row
emitters), course_state, assessment, combination with cycle_visits, cycle_aes and dosing,
end_of_treatment, maintenance, followup, subject_truth), mess (feed errors), writer
(deliveries), truth (truth folder), scenarios (real-trial shapes, ``--scenarios``),
truth_rules (eligibility, populations, DLT and 3+3 by domain.md's written rules).

A leaf: no module here imports another ``cfz_platform`` package
(``tests/simulate/test_simulate_is_a_leaf.py``); ``cfz_platform.agreement`` sets the built
marts and model against the truth.
"""
