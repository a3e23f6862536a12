"""The early-response model (domain.md section 7): features as of C1D15, training with
honest validation, MLflow tracking and registry, batch scoring.

Modules: ``spec`` (the model specification), ``features`` (loading the feature mart and the
data snapshot identity), ``pipelines`` (scikit-learn pipelines), ``evaluation`` (repeated
stratified CV metrics), ``plots``, ``tracking`` (MLflow store, registry, champion decision),
``train`` (one training run end to end) and ``scoring`` (predictions table).
"""
