"""Every built-in model by name: regression families and distribution families."""

from __future__ import annotations

from typing import Any

from gradtrace.core.distributions import FAMILIES, Family
from gradtrace.core.models import REGRESSIONS, Regression

Model = Regression | Family

MODELS: dict[str, str] = {
    **{name: doc for name, (doc, _) in REGRESSIONS.items()},
    **{name: f.doc for name, f in FAMILIES.items()},
}


def make_model(name: str, n_features: int = 1, **options: Any) -> Model:
    """The model called ``name`` (one of ``MODELS``), for ``n_features`` x columns.

    Options: ``degree`` for ``poly``; ``center`` and ``spread`` for a standardised
    ``linear``.
    """
    if name in REGRESSIONS:
        return REGRESSIONS[name][1](n_features, **options)
    if name in FAMILIES:
        return FAMILIES[name]
    raise KeyError(name)


def kind_of(name: str) -> str:
    """``regression`` or ``distribution``."""
    return "regression" if name in REGRESSIONS else "distribution"
