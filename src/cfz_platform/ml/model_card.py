"""The model card, generated from a registered run (never edited by hand).

``render_model_card`` fills ``templates/model_card.md.j2`` from the spec and one MLflow run's
parameters, metrics and tags; ``write_model_card`` does it for a registered version (the
champion by default) into ``models/early_response/MODEL_CARD.md``.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from cfz_platform.ml import tracking
from cfz_platform.ml.evaluation import CV_METRIC_KEYS
from cfz_platform.ml.spec import ModelSpec, load_spec, spec_path

#: The rows of the validation table: (label, metric prefix).
CARD_ROWS = (
    ("primary", "cv_"),
    ("comparator (boosting)", "comparator_cv_"),
    ("baseline-only", "baseline_only_cv_"),
    ("kinetics-only", "kinetics_only_cv_"),
)
_KEYS = CV_METRIC_KEYS


class ModelCardError(RuntimeError):
    """No registered version to describe; the message says what to run."""


def render_model_card(
    spec: ModelSpec,
    metrics: dict[str, float],
    params: dict[str, str],
    tags: dict[str, str],
    run_id: str,
    version: str,
    alias: str | None = None,
) -> str:
    """The card's Markdown from a run's metrics, parameters and tags and the spec.

    Steps: 1. one validation row per pipeline of the run (``CARD_ROWS``; a pipeline the run
    lacks is left out); 2. the model description from the spec (chosen C from the run's
    ``primary_chosen_C`` metric when the primary model chooses it); 3. render the template.
    """
    rows = [
        {"name": name, **{k: float(metrics[prefix + k]) for k in _KEYS}}
        for name, prefix in CARD_ROWS
        if all(prefix + k in metrics for k in _KEYS)
    ]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cfz_platform.ml", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("model_card.md.j2").render(
        run_id=run_id,
        model_name=spec.registered_model,
        version=version,
        alias=alias,
        question=spec.raw.get("question", ""),
        features_table=spec.features_table,
        n_subjects=int(metrics.get("n_subjects", 0)),
        n_positive=int(metrics.get("n_positive", 0)),
        label=spec.label,
        snapshot_hash=tags.get("snapshot_hash", ""),
        last_delivery=tags.get("last_delivery", ""),
        as_of_rule=spec.as_of_rule,
        features=", ".join(f"`{f}`" for f in spec.features),
        primary_kind=spec.primary["kind"],
        chosen_c=metrics.get("primary_chosen_C"),
        inner_folds=spec.primary.get("inner_folds", 5),
        cs=spec.primary.get("Cs"),
        fixed_c=spec.primary.get("C"),
        comparison_sets=spec.comparison_feature_sets,
        threshold=spec.decision_threshold,
        n_splits=params.get("cv_n_splits", spec.cv["n_splits"]),
        n_repeats=params.get("cv_n_repeats", spec.cv["n_repeats"]),
        seed=spec.cv["seed"],
        rows=rows,
        kinetics_gain=float(metrics.get("kinetics_gain_auc", float("nan"))),
        decision=tags.get("registry_decision", ""),
    )


def card_path() -> Path:
    return spec_path().parent / "MODEL_CARD.md"


def write_model_card(
    out: Path | None = None, alias: str = tracking.CHAMPION, spec: ModelSpec | None = None
) -> Path:
    """Write the card of the registered version holding ``alias`` (champion by default).

    Steps: 1. find the version and its run in the project's registry (one-line error when
    there is none: run ``cfz train``); 2. ``render_model_card`` from that run; 3. write it
    (``models/early_response/MODEL_CARD.md`` unless ``out``).
    """
    spec = spec or load_spec()
    client = tracking.configure()
    try:
        mv = client.get_model_version_by_alias(spec.registered_model, alias)
    except Exception as exc:  # noqa: BLE001 - MLflow raises one type for any lookup failure
        raise ModelCardError(
            f"no version of {spec.registered_model!r} has the alias {alias!r}: run `cfz train` first"
        ) from exc
    run = client.get_run(mv.run_id)
    text = render_model_card(
        spec, run.data.metrics, run.data.params, run.data.tags, mv.run_id, str(mv.version), alias
    )
    path = out or card_path()
    path.write_text(text)
    return path
