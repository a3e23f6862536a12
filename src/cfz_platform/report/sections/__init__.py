"""The report's section builders, one module per family of sections.

- ``flow``: subject flow (CONSORT) and baseline characteristics (marts.dim_subject);
- ``eligibility``: eligibility failures (marts.fct_eligibility);
- ``safety``: dose escalation / DLTs / MTD and adverse events;
- ``adverse_events``: AEs by SOC/term, dose level and group, SAE and discontinuation listings;
- ``performance_status``: ECOG at baseline, worst on study and their shift
  (marts.fct_performance_status);
- ``medical_history``: baseline conditions by body system and group (marts.fct_medical_history);
- ``disposition``: end of treatment and end of study with reasons by group (marts.fct_disposition);
- ``labs``: the CTCAE lab shift table (marts.fct_lab_results);
- ``response``: swimmer, waterfall and spider plots (response assessments);
- ``endpoints``: the study endpoints and Kaplan-Meier curves (rpt_* tables);
- ``data_quality``: the ingestion ledger, rejects, data issues and quality gates (audit.*);
- ``model``: the early-response model's performance (ml.early_response_predictions);
- ``vital_signs``: weight and BSA per cycle, systolic BP change by visit, doses off
  mg/m2 x BSA (marts.fct_vital_signs, marts.fct_cycle_bsa);
- ``concomitant_medications``: on-study use by class, new anti-myeloma therapy
  (marts.fct_concomitant_medications).

A builder takes a :class:`cfz_platform.report.data.ReportData` and returns a
:class:`cfz_platform.report.items.Section`; when a table it reads is missing, empty or lacks
a contract column it raises :class:`cfz_platform.report.marts.Unavailable`, and the
assembler (``report.build``) renders a "not available: <reason>" box instead.
"""
