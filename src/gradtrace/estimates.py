"""The coefficient table a statistician reads: a run's exact optimum as the
estimate, with its standard error, test against 0 and interval, beside the
values the run ended at (``gradtrace show RUN --estimates``, the HTML report)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from gradtrace.text import percent

#: p-values below this underflow in double precision: printed as "< 1e-300".
TINY_P = 1e-300

#: A standard error below this share of the optimum's size is float64's rounding:
#: the data fit the model exactly (y = x gives 2e-16)
EXACT_FIT = 1e-10


def intervals_of(info: dict[str, Any]) -> dict[str, Any]:
    """The optimum's intervals a run recorded, by parameter: (low, high), each
    shaped as the parameter (``ci``; ``ci95`` in runs saved before the level
    could be chosen); empty where it has none."""
    return dict(info.get("ci") or info.get("ci95") or {})


def level_of(info: dict[str, Any]) -> float:
    """The share of its distribution each of the run's intervals holds (0.95)."""
    return float(info.get("ci_level") or 0.95)


def optimum_size(values: Any) -> float:
    """The largest finite size of an optimum's values (a dict's, or a list of
    them), whose ``EXACT_FIT`` share a standard error of rounding's is below."""
    parts = values.values() if isinstance(values, dict) else values
    sizes = [np.abs(np.asarray(v, np.float64)).ravel() for v in parts]
    return max(
        (float(np.max(s[np.isfinite(s)], initial=0.0)) for s in sizes), default=0.0
    )


#: The ratio e^estimate stands for, by model fitted by its likelihood: a
#: logistic regression's odds ratio, a Poisson regression's rate ratio
RATIOS = {"logistic": "odds ratio", "poisson-regression": "rate ratio"}


def ratio_of(info: dict[str, Any]) -> str | None:
    """The name of e^estimate of a run's model (``RATIOS``), for a logistic or
    Poisson regression fitted by its likelihood; None otherwise."""
    if info.get("loss") != "nll" or "model" in info.get("own_objects", []):
        return None
    return RATIOS.get(str(info.get("model")))


def estimates(
    summary: pd.DataFrame, kind: str | None = None, ratio: str | None = None
) -> pd.DataFrame | None:
    """``Trace.summary()``'s table as statsmodels prints a fit's coefficients,
    one row a parameter (index ``parameter``) and each cell a string:
    ``estimate`` (the exact optimum), ``std. error``, ``t`` or ``z`` and its
    ``P>|t|`` / ``P>|z|`` (the optimum against 0), the ``95% interval`` (named
    by the summary's ``attrs["level"]``: ``90% interval``), the
    run's ``final`` value and ``final - estimate`` in standard errors (how far
    the training ended from the estimate, in the estimate's own uncertainty),
    and ``truth`` where the data were generated; ``x``, the column a slope
    multiplies, where the summary names it, and a run on standardised x's
    estimates and errors in x's own units beside. A parameter on the edge of its
    range has no error, test or interval (blank). None for a run without
    standard errors (no exact optimum, or one without its curvature). ``kind``:
    the robust standard errors' ("hc3"), named in their column's heading.
    ``ratio`` (``ratio_of``: "odds ratio", "rate ratio"): a column of e^estimate
    and one of its interval's e^ends, as R's exp(coef(fit)) and
    exp(confint(fit)) give them, per unit of x in its own units."""
    if "std_error" not in summary.columns or summary["std_error"].isna().all():
        return None
    stat = "t" if "t" in summary.columns else "z" if "z" in summary.columns else None
    # a standard error of rounding's (data the model fits exactly) counts no
    # distance: EXACT_FIT of the optimum's size
    exact = EXACT_FIT * optimum_size([summary["optimum"].to_numpy(np.float64)])
    units = "optimum_in_x_units" in summary.columns
    held = f"{percent(float(summary.attrs.get('level') or 0.95))} interval"
    rows = {}
    for name, row in summary.iterrows():
        se = _number(row.get("std_error"))
        best, final = _number(row.get("optimum")), _number(row.get("final"))
        named = row.get("x")  # NaN for the intercept
        cells = {"x": named if isinstance(named, str) else ""} if "x" in row else {}
        # digits to the standard error's tenth at least (a mean of 1e6 known to
        # 0.19 printed 1000000, and its interval 1e+06 to 1e+06)
        more = _digits(best, se)
        cells |= {
            "estimate": _g(best, max(7, more)),
            f"std. error{f' ({kind.upper()})' if kind else ''}": _g(se, 4),
        }
        if stat is not None:
            cells[stat] = _g(_number(row.get(stat)), 4)
            cells[f"P>|{stat}|"] = _p(_number(row.get("p_value")))
        low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
        cells[held] = interval_text(low, high, se, max(4, more))
        cells["final"] = _g(final, 7)
        off = (final - best) / se if se > exact else math.nan
        cells["final - estimate (s.e.)"] = away(off)
        if "optimum_in_x_units" in summary.columns:  # fitted on standardised x
            cells["estimate in x's units"] = _g(_number(row["optimum_in_x_units"]), 7)
            cells["std. error in x's units"] = _g(
                _number(row.get("std_error_in_x_units")), 4
            )
            low = _number(row.get("ci_low_in_x_units"))
            high = _number(row.get("ci_high_in_x_units"))
            if "ci_low_in_x_units" in summary.columns:
                cells[f"{held} in x's units"] = interval_text(
                    low, high, _number(row.get("std_error_in_x_units")), 4
                )
        if ratio is not None:
            cells |= _ratio_cells(row, ratio, "_in_x_units" * units, held)
        if "truth" in summary.columns:
            cells["truth"] = _g(_number(row.get("truth")), 7)
        rows[name] = cells
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "parameter"
    return table


def errors_basis(info: dict[str, Any], summary: pd.DataFrame) -> str | None:
    """What a run's classical standard errors rest on, as R's and statsmodels'
    summaries say it: least squares' residual standard error SSR / (n - p)
    and Student's t on n - p degrees of freedom (as OLS), or a likelihood's
    inverse Hessian at the optimum and the normal (as an MLE, whose Gaussian
    scale is over n: sqrt(n / (n - p)) below least squares' errors); None
    without standard errors, or with robust ones (their column says which)."""
    if "std_error" not in summary.columns or robust_kind(info):
        return None
    p = int(summary["std_error"].notna().sum())
    n = int(info["data"]["n_rows"])
    best = info.get("optimum_loss")
    if not p or best is None:
        return None
    if info["loss"] == "mse" and info["data"].get("x") and n > p:
        ssr = float(best) * (n if info.get("reduction", "mean") == "mean" else 1)
        return (
            "standard errors as ordinary least squares gives them: residual "
            f"standard error {_g(math.sqrt(ssr / (n - p)), 4)} (the square root of "
            f"SSR / (n - p)) on {n - p} degrees of freedom, and Student's t on them"
        )
    if info["loss"] != "nll":
        return None
    said = (
        "maximum-likelihood standard errors: the inverse of the negative "
        "log-likelihood's Hessian at the optimum, and the normal for z"
    )
    if not any(c in summary.columns for c in ("z", "t")):
        said = said.removesuffix(", and the normal for z")
    fitted_scale = "scale" in summary.index and not math.isnan(
        _number(summary.loc["scale", "std_error"])
    )
    if fitted_scale and info["data"].get("x") and n > p:
        said += (
            # p counts the scale, which least squares does not estimate
            "; the noise's scale is its maximum-likelihood estimate, over n: least "
            f"squares (loss mse) gives errors {math.sqrt(n / (n - p + 1)):.4g} "
            "times these, over n - p"
        )
    return said


def factor_tests(info: dict[str, Any]) -> pd.DataFrame:
    """Each categorical x column's joint Wald test that the slopes of all its 0/1
    columns are 0 at once (none of its categories differs from the reference):
    W = b' V^-1 b over those slopes b and their covariance V at the optimum
    (the robust one where the run has it), as statsmodels' ``wald_test_terms``
    and R's ``car::Anova(test="Wald")`` take it: for least squares F = W / q on q
    and n - p degrees of freedom (q the column's 0/1 columns, p the fitted
    coefficients), for a likelihood chi-squared W on q. One row a column (index
    ``column``): ``categories``, ``df`` (q), ``F`` and ``df_denom`` or ``chi2``,
    and ``p_value``; no rows for a run without categorical columns or without
    the estimates' covariance (``covariance``: up to 100 parameters), whose
    columns are still the test's (least squares' F, else chi2), so that
    ``table["F"]`` reads either."""
    columns = ["categories", "df", "statistic", "df_denom", "p_value"]
    categories = (info.get("data") or {}).get("categories") or {}
    cov, optimum = info.get("covariance"), info.get("optimum") or {}

    def named(table: pd.DataFrame, test: str) -> pd.DataFrame:
        table = table.rename(columns={"statistic": test})
        if test == "chi2":
            table = table.drop(columns="df_denom")
        table.index.name = "column"
        table.attrs["test"] = test
        return table

    empty = named(
        pd.DataFrame(columns=columns, dtype=float),
        "F" if info.get("loss") == "mse" else "chi2",
    )
    if not categories or cov is None or info.get("loss") not in ("mse", "nll"):
        return empty
    labels: list[str] = []
    for name, value in optimum.items():  # the covariance's order
        vector = np.ndim(value) > 0
        labels += [f"{name}[{i}]" for i in range(np.size(value))] if vector else [name]
    values = np.concatenate(
        [np.ravel(np.asarray(v, np.float64)) for v in optimum.values()]
    )
    cov = np.asarray(cov, np.float64)
    if cov.shape != (len(labels), len(labels)):
        return empty
    x = list(info["data"].get("x") or [])
    n, p = int(info["data"]["n_rows"]), len(labels)
    least_squares = info["loss"] == "mse"
    from scipy import special

    rows: dict[str, dict[str, float]] = {}
    for column, levels in categories.items():
        # its 0/1 columns, named as categories.column_names names them (not
        # imported: it reads validate, a module beside this one)
        dummies = [f"{column}={v}" for v in levels[1:]]
        slopes = [f"w[{x.index(c)}]" for c in dummies if c in x]
        at = [labels.index(s) for s in slopes if s in labels]
        if not at or len(at) != len(levels) - 1:
            continue
        b, v = values[at], cov[np.ix_(at, at)]
        try:
            wald = float(b @ np.linalg.solve(v, b))
        except np.linalg.LinAlgError:
            continue
        q = len(at)
        if least_squares and n > p:
            stat, denom = wald / q, float(n - p)
            tail = float(special.fdtrc(q, denom, stat))
        else:
            stat, denom, tail = wald, math.nan, float(special.chdtrc(q, wald))
        rows[column] = {
            "categories": len(levels),
            "df": q,
            "statistic": stat,
            "df_denom": denom,
            "p_value": tail,
        }
    if not rows:
        return empty
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    return named(table, "F" if least_squares and n > p else "chi2")


def factor_tests_said(info: dict[str, Any]) -> list[str]:
    """The sentences under the estimates for ``factor_tests``: "rank (4
    categories), its 3 slopes against rank=1 all 0: F(3, 394) = 4.72, P =
    0.003 (a joint Wald test)"."""
    table = factor_tests(info)
    said = []
    for column, row in table.iterrows():
        levels = info["data"]["categories"][column]
        q = int(row["df"])
        if "F" in table.columns:
            stat = f"F({q}, {int(row['df_denom'])}) = {_g(float(row['F']), 4)}"
        else:
            stat = f"chi2({q}) = {_g(float(row['chi2']), 4)}"
        p = _p(float(row["p_value"]))
        slopes = "slope" if q == 1 else f"{q} slopes"
        said.append(
            f"{column} ({int(row['categories'])} categories), its {slopes} against "
            f"{column}={levels[0]} all 0: {stat}, P {'' if p.startswith('<') else '= '}"
            f"{p} (a joint Wald test)"
        )
    return said


def tests_in_x_units(summary: pd.DataFrame) -> str | None:
    """A line under a standardised run's estimates for each parameter whose
    test against 0 differs in x's own units (the intercept: on standardised x
    it is the linear predictor at x's means, tested there): "b's z and P>|z| test it
    on standardised x, ...; in x's own units: z -2.853, P>|z| 0.00433"; None
    where none differs."""
    stat = next((s for s in ("t", "z") if f"{s}_in_x_units" in summary.columns), None)
    if stat is None:
        return None
    said = []
    for name, row in summary.iterrows():
        mine, theirs = _number(row.get(stat)), _number(row.get(f"{stat}_in_x_units"))
        if math.isnan(theirs) or math.isclose(mine, theirs, rel_tol=1e-6):
            continue
        said.append(
            f"{name}'s {stat} and P>|{stat}| test it on standardised x, where it is "
            f"the linear predictor at x's means; in x's own units: {stat} "
            f"{_g(theirs, 4)}, P>|{stat}| {_p(_number(row['p_value_in_x_units']))}"
        )
    return "; ".join(said) or None


def _digits(value: float, se: float) -> int:
    """The significant digits that show ``value`` down to a tenth of its standard
    error ``se`` (0 where either is not a finite nonzero number; 15 at most)."""
    if not (math.isfinite(value) and math.isfinite(se)) or value == 0 or se <= 0:
        return 0
    wanted = math.floor(math.log10(abs(value))) - math.floor(math.log10(se)) + 2
    return min(15, wanted)


def shown_estimates(
    info: dict[str, Any], summary: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]] | None:
    """What the summary and the report show of a run's estimates: the table
    (``estimates``, of its robust kind) and the sentences under it (the errors'
    basis, the tests in x's own units); None for a run without standard
    errors."""
    ratio = ratio_of(info)
    table = estimates(summary, robust_kind(info), ratio)
    if table is None:
        return None
    said = [errors_basis(info, summary), tests_in_x_units(summary)]
    if ratio is not None:
        said.append(_ratio_said(ratio, "optimum_in_x_units" in summary.columns))
    said += factor_tests_said(info)
    return table, [s for s in said if s]


def _ratio_cells(
    row: Any, ratio: str, units: str, held: str = "95% interval"
) -> dict[str, str]:
    """``ratio`` and its interval for one row of the summary: e^estimate and
    e^ends (``units``: "_in_x_units", a run on standardised x's in x's own;
    ``held``: the interval's column name, "95% interval")."""
    best = _number(row.get(f"optimum{units}"))
    se = _number(row.get(f"std_error{units}"))
    low, high = _number(row.get(f"ci_low{units}")), _number(row.get(f"ci_high{units}"))
    with np.errstate(over="ignore"):
        value, ends = np.exp(best), np.exp([low, high])
    # its error by the delta method, e^estimate x se: the ends' decimals
    return {
        ratio: _g(float(value), 5),
        f"{ratio}'s {held}": interval_text(
            float(ends[0]), float(ends[1]), float(value * se), 4
        ),
    }


def _ratio_said(ratio: str, units: bool) -> str:
    """The sentence under an estimates table with ``ratio``'s columns."""
    odds = ratio == "odds ratio"
    what = "odds of y = 1 change" if odds else "mean count changes"
    unit = "unit of x in its own units" if units else "unit of x"
    return (
        f"{ratio}: e^estimate, the factor the {what} by per {unit} (the "
        f"intercept's: the {'odds' if odds else 'mean count'} where every x is 0), "
        "and its interval's ends e^ends"
    )


def robust_kind(info: dict[str, Any]) -> str | None:
    """The robust standard errors' kind a run's optimum has ("hc3", as its
    method says: a Laplace's, asked for, are classical); None for the
    classical ones."""
    found = re.search(
        r"robust \((HC\d)\) standard errors", info.get("optimum_method") or ""
    )
    return found.group(1).lower() if found else None


def _number(value: Any) -> float:
    """A cell as a float; NaN for a missing one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def away(value: float) -> str:
    """A distance in standard errors: two decimals, "0.00" for one that rounds
    to it, and one past a million (a run that blew up) as +1.8e+19."""
    if math.isnan(value):
        return ""
    if abs(value) < 0.005:
        return "0.00"
    return f"{value:+.2f}" if abs(value) < 1e6 else f"{value:+.2g}"


def interval_text(low: float, high: float, se: float, digits: int) -> str:
    """An interval's ends to the same decimal place, the standard error's fourth
    significant digit ("0.9742 to 1.1005": with four significant digits each it
    read "0.9742 to 1.1"); ``digits`` significant digits each where the decimals
    would run long (values far from their error's size) or the error is none."""
    if math.isnan(low):
        return ""
    if math.isfinite(se) and se > 0 and max(abs(low), abs(high)) < 1e9:
        decimals = max(0, 3 - math.floor(math.log10(se)))
        if decimals <= 10:
            return f"{low:.{decimals}f} to {high:.{decimals}f}"
    return f"{_g(low, digits)} to {_g(high, digits)}"


def _g(value: float, digits: int) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}g}"


def _p(value: float) -> str:
    """A p-value as statsmodels' readers expect it: three significant digits,
    and one that underflowed said as below what a double holds."""
    if math.isnan(value):
        return ""
    return f"< {TINY_P:g}" if value < TINY_P else f"{value:.3g}"


def prediction_band(
    info: dict[str, Any],
    model: Any,
    params: dict[str, Any],
    fixed: dict[str, Any],
    x: np.ndarray,
    interval: str,
    level: float = 0.95,
) -> pd.DataFrame:
    """``Trace.predict``'s table with an ``interval`` ("confidence" or
    "prediction") at ``x`` (as the model takes it), holding ``level`` of its
    distribution, ``params`` the values predicted with
    (``core.bands.mean_band``; ``info``: the run's, for its covariance, loss
    and rows)."""

    from gradtrace.core.bands import mean_band
    from gradtrace.errors import COMMAND_LINE, InputError
    from gradtrace.text import for_python

    cov = info.get("covariance")
    optimum = info.get("optimum") or {}
    if cov is None or not optimum:
        why = (
            "no exact optimum (--no-exact, or none found: its warnings say why), "
            "so its predictions have no interval: predict without one"
            if not optimum
            else "no covariance of its estimates (no standard errors: its loss, an "
            "optimum on an edge of a parameter's range, or over 100 parameters), "
            "so its predictions have no interval: predict without one, or fit by "
            "the loss mse or nll"
        )
        said = f"this run has {why}."
        raise InputError(said if COMMAND_LINE.get() else for_python(said))
    n = int(info["data"]["n_rows"])
    k = len(cov)
    least_squares = info["loss"] == "mse"
    noise = None
    # the noise's scale at the optimum, as least squares' SSR is: fitted, or held
    scale = {**fixed, **optimum}.get("scale")
    gaussian = getattr(model, "family", "") == "gaussian"
    if interval == "prediction":
        if least_squares and gaussian:
            ssr = float(info["optimum_loss"]) * (
                n if info.get("reduction", "mean") == "mean" else 1
            )
            noise = math.sqrt(ssr / max(n - k, 1))
        elif scale is not None and gaussian and info["loss"] == "nll":
            noise = float(np.asarray(scale))
        else:
            said = (
                "a prediction interval is for a model with Gaussian noise "
                f"(fitted by mse, or by nll with a scale); {info['model']}'s y "
                f"by {info['loss']} is not: ask for --interval confidence, the "
                "mean's."
            )
            raise InputError(said if COMMAND_LINE.get() else for_python(said))
    # the exact answer's quantiles, as its intervals take them
    from gradtrace.core.exact import t_upper, z_quantile

    if least_squares:
        quantile = t_upper(max(n - k, 1), level)
        said = f"Student's t on {max(n - k, 1)} degrees of freedom"
    else:
        quantile, said = z_quantile(level), "the normal"
    # the trained parameters in the covariance's order
    ordered = {name: params[name] for name in optimum}
    band = mean_band(model, ordered, fixed, np.asarray(cov), x, quantile, noise)
    ends = ("ci_low", "ci_high") if interval == "confidence" else ("pi_low", "pi_high")
    frame = pd.DataFrame(
        {
            "prediction": band.prediction,
            "std_error": band.std_error,
            ends[0]: band.low,
            ends[1]: band.high,
        }
    )
    frame.attrs["quantile"] = said
    frame.attrs["level"] = level
    return frame
