"""delever CLI command ``paths`` (``calibrate`` lives in :mod:`delever.cli.market_cmds`).

``delever paths`` draws exogenous price paths (GBM, Merton jumps, GARCH(1,1), block
bootstrap of real returns, historical replay) calibrated the same way, writes them to
Parquet or CSV (``--output``, by extension: one row per path, columns ``step_0`` ..
``step_S``, prices in USD) and summarises the final and minimum prices.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from delever._typing import FloatArray2D
from delever.cli._common import (
    atomic_write_bytes,
    check_output_path,
    console,
    emit_json,
    err_console,
    user_errors,
)
from delever.cli._finite import check_finite_payload
from delever.cli._tables import print_table
from delever.errors import InvalidArgument, check_finite, check_positive, unknown_name
from delever.market.calibration import (
    DEFAULT_CUTOFF,
    DEFAULT_WINDOW_DAYS,
    MarketCalibration,
    as_date,
    calibrate,
)
from delever.market.paths import (
    DEFAULT_BLOCK_DAYS,
    DEFAULT_JUMP_INTENSITY_PER_DAY,
    DEFAULT_JUMP_MEAN,
    DEFAULT_JUMP_STD,
    PATH_MODELS,
    DrawnPaths,
    PathRequest,
    draw_paths,
)
from delever.sim.limits import PATHS_ARRAYS, check_paths_memory

JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]
CutoffOpt = Annotated[
    str,
    typer.Option("--cutoff", help="Use only data strictly before this UTC date (YYYY-MM-DD)."),
]
WindowOpt = Annotated[
    int, typer.Option("--window-days", help="Estimation window in days before the cut-off.")
]

# Merton jump defaults (delever.market.paths): ILLUSTRATIVE, not fitted. The diffusion
# volatility is set so that the total daily variance equals the calibrated sigma_daily².
DEFAULT_CUTOFF_TEXT = DEFAULT_CUTOFF.isoformat()
OUTPUT_FORMATS = (".parquet", ".csv")
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def _output_format(output: Path | None) -> str | None:
    if output is None:
        return None
    suffix = output.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InvalidArgument(
            f"--output={str(output)!r}: unsupported extension {suffix or '(none)'!r}; use "
            f"{' or '.join(OUTPUT_FORMATS)}."
        )
    return suffix


def _paths_bytes(paths: FloatArray2D, suffix: str) -> bytes:
    names = [f"step_{k}" for k in range(paths.shape[1])]
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({name: paths[:, k] for k, name in enumerate(names)})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    buffer = io.StringIO()
    np.savetxt(buffer, paths, delimiter=",", fmt="%.17g", header=",".join(names), comments="")
    return buffer.getvalue().encode("utf-8")


def _stats(values: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, float]:
    out = {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
    }
    for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True):
        out[f"p{q:02d}"] = float(v)
    return out


MAX_S0_USD = 1e12
# Options only some generators read (the others ignore them: a warning says so).
MODEL_ONLY_OPTIONS: dict[str, tuple[str, ...]] = {
    "--sigma-daily": ("gbm", "merton"),
    "--drift-daily": ("gbm", "merton"),
    "--jump-intensity": ("merton",),
    "--jump-mean": ("merton",),
    "--jump-std": ("merton",),
    "--block-days": ("bootstrap",),
    "--bootstrap-method": ("bootstrap",),
    "--replay-start": ("replay",),
    "--stride-days": ("replay",),
}


def _unused_options(ctx: typer.Context, model: str) -> list[str]:
    """Warnings for options given on the command line that ``model`` does not read."""
    out = []
    for flag, models in MODEL_ONLY_OPTIONS.items():
        name = flag.lstrip("-").replace("-", "_")
        source = ctx.get_parameter_source(name)
        if model not in models and source is not None and source.name == "COMMANDLINE":
            out.append(f"{flag} is not used by --model {model} (only by {', '.join(models)})")
    return out


ModelOpt = Annotated[
    str, typer.Option("--model", help="gbm | merton | garch | bootstrap | replay.")
]
NPathsOpt = Annotated[int, typer.Option("--paths", help="Number of paths.")]
NStepsOpt = Annotated[int, typer.Option("--steps", help="Steps per path.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the paths to .parquet or .csv."),
]
S0Opt = Annotated[
    float | None,
    typer.Option("--s0", help="Start price in USD (default: last close before the cut-off)."),
]
SigmaDailyOpt = Annotated[
    float | None,
    typer.Option("--sigma-daily", help="Daily log-return volatility (default: calibrated)."),
]
DriftDailyOpt = Annotated[
    float, typer.Option("--drift-daily", help="Drift per day, E[S1/S0] = exp(drift).")
]
StepDaysOpt = Annotated[
    float, typer.Option("--step-days", help="Step length in days (gbm and merton only).")
]
AntitheticOpt = Annotated[
    bool, typer.Option("--antithetic", help="Antithetic pairs (gbm, merton, garch).")
]
JumpIntensityOpt = Annotated[
    float, typer.Option("--jump-intensity", help="Merton: jumps per day (illustrative).")
]
JumpMeanOpt = Annotated[
    float, typer.Option("--jump-mean", help="Merton: mean log jump (illustrative).")
]
JumpStdOpt = Annotated[
    float, typer.Option("--jump-std", help="Merton: std of the log jump (illustrative).")
]
BlockDaysOpt = Annotated[
    float, typer.Option("--block-days", help="Bootstrap: (mean) block length in days.")
]
BootstrapMethodOpt = Annotated[
    str, typer.Option("--bootstrap-method", help="Bootstrap: stationary | moving.")
]
ReplayStartOpt = Annotated[
    str | None,
    typer.Option(
        "--replay-start",
        help="Replay: day of the first price (default: the last day before the cut-off).",
    ),
]
StrideDaysOpt = Annotated[
    int, typer.Option("--stride-days", help="Replay: shift between windows, in days.")
]


def paths_cmd(
    ctx: typer.Context,
    model: ModelOpt = "gbm",
    n_paths: NPathsOpt = 1000,
    n_steps: NStepsOpt = 30,
    seed: SeedOpt = 0,
    output: OutputOpt = None,
    s0_usd: S0Opt = None,
    cutoff: CutoffOpt = DEFAULT_CUTOFF_TEXT,
    window_days: WindowOpt = DEFAULT_WINDOW_DAYS,
    sigma_daily: SigmaDailyOpt = None,
    drift_daily: DriftDailyOpt = 0.0,
    step_days: StepDaysOpt = 1.0,
    antithetic: AntitheticOpt = False,
    jump_intensity: JumpIntensityOpt = DEFAULT_JUMP_INTENSITY_PER_DAY,
    jump_mean: JumpMeanOpt = DEFAULT_JUMP_MEAN,
    jump_std: JumpStdOpt = DEFAULT_JUMP_STD,
    block_days: BlockDaysOpt = DEFAULT_BLOCK_DAYS,
    bootstrap_method: BootstrapMethodOpt = "stationary",
    replay_start: ReplayStartOpt = None,
    stride_days: StrideDaysOpt = 1,
    json_output: JsonOpt = False,
) -> None:
    """Draw exogenous ETH price paths and write them to Parquet or CSV."""
    with user_errors():
        request = PathRequest(
            n_paths=n_paths, n_steps=n_steps, seed=seed, s0_usd=s0_usd,
            sigma_daily=sigma_daily, drift_daily=drift_daily, step_days=step_days,
            antithetic=antithetic, jump_intensity_per_day=jump_intensity, jump_mean=jump_mean,
            jump_std=jump_std, block_days=block_days, bootstrap_method=bootstrap_method,
            replay_start=replay_start, stride_days=stride_days)
        suffix = _check_paths_request(model, request, output)
        cal = calibrate(as_date(cutoff), window_days)
        drawn = draw_paths(model, request, cal)
        written = None
        if output is not None and suffix is not None:
            written = atomic_write_bytes(output, _paths_bytes(drawn.paths_usd, suffix))
        payload = _paths_payload(model, request, cal, drawn)
        payload["output"] = None if written is None else str(written)
        payload["format"] = None if suffix is None else suffix.lstrip(".")
        check_finite_payload(payload, "paths")
        # after every check: the stderr of a refused command is its one error line
        for warning in _unused_options(ctx, model):
            err_console.print(f"warning: {warning}", markup=False)
        if json_output:
            emit_json(payload)
            return
        _print_summary(payload)


def _check_paths_request(model: str, request: PathRequest, output: Path | None) -> str | None:
    """The checks before any data is read; returns the output format (None: no file)."""
    if model not in PATH_MODELS:
        raise unknown_name("model", model, PATH_MODELS)
    for name, value in (("paths", request.n_paths), ("steps", request.n_steps)):
        if value < 1:
            raise InvalidArgument(f"--{name}={value} must be at least 1.")
    check_paths_memory(request.n_paths, request.n_steps, PATHS_ARRAYS)
    if request.seed < 0:
        raise InvalidArgument(f"--seed={request.seed} must not be negative.")
    if request.antithetic and model in ("bootstrap", "replay"):
        raise InvalidArgument(f"--antithetic does not apply to model={model!r}.")
    if request.step_days != 1.0 and model not in ("gbm", "merton"):
        raise InvalidArgument(
            f"--step-days={request.step_days}: model={model!r} steps one day (its data are "
            "daily)."
        )
    step = check_positive("step_days", request.step_days)
    if model == "merton":
        check_jump_options(request.jump_intensity_per_day, request.jump_mean, request.jump_std)
    suffix = _output_format(output)
    check_output_path("--output", output)
    s0_usd = request.s0_usd
    if s0_usd is not None:
        check_positive("s0_usd", s0_usd)
        if s0_usd > MAX_S0_USD:  # statistics over paths would overflow (RuntimeWarnings)
            raise InvalidArgument(f"s0_usd={s0_usd!r} must be at most {MAX_S0_USD:.0e} USD.")
    drift = check_finite("drift_daily", request.drift_daily)
    if abs(drift) > MAX_DRIFT_DAILY or abs(drift) * step * request.n_steps > MAX_LOG_DRIFT:
        raise InvalidArgument(
            f"--drift-daily={request.drift_daily:g} must be in [-{MAX_DRIFT_DAILY:g}, "
            f"{MAX_DRIFT_DAILY:g}] a day, and compound to at most exp({MAX_LOG_DRIFT:g}) "
            f"over the {step * request.n_steps:g} days; it is a log drift (a fraction: 0.001 "
            "is about +44% a year), not a percent.")
    return suffix


def _paths_payload(
    model: str, request: PathRequest, cal: MarketCalibration, drawn: DrawnPaths
) -> dict[str, Any]:
    """The JSON object of ``delever paths`` (less the output file and its format)."""
    paths = drawn.paths_usd
    return {
        "model": model,
        "shape": list(paths.shape),
        "n_paths": int(paths.shape[0]),
        "n_steps": int(paths.shape[1] - 1),
        "seed": request.seed,
        "step_days": request.step_days if model in ("gbm", "merton") else 1.0,
        "s0_usd": float(paths[0, 0]),
        "params": drawn.params,
        "calibration": {
            "cutoff": cal.cutoff.isoformat(),
            "window_days": cal.window_days,
            "sigma_daily": cal.sigma_daily.value,
            "last_close_usd": cal.last_close_usd.value,
            "last_close_date": cal.last_close_date.isoformat(),
        },
        "final_price_usd": _stats(paths[:, -1]),
        "min_price_usd": _stats(paths.min(axis=1)),
    }


# Merton jump options: a log jump beyond +-10 (a factor e^10 ~ 22,000) is no market move,
# and 24 jumps a day is one an hour; past these, intensity x (mean² + std²) can overflow.
MAX_JUMP_INTENSITY_PER_DAY = 24.0
MAX_JUMP_LOG = 10.0


def check_jump_options(intensity_per_day: float, mean_log: float, std_log: float) -> None:
    """Refuse a --jump-* option that is not finite or out of range, naming the option."""
    for flag, value, low, high in (
        ("--jump-intensity", intensity_per_day, 0.0, MAX_JUMP_INTENSITY_PER_DAY),
        ("--jump-mean", mean_log, -MAX_JUMP_LOG, MAX_JUMP_LOG),
        ("--jump-std", std_log, 0.0, MAX_JUMP_LOG),
    ):
        if not (low <= value <= high):  # also NaN
            raise InvalidArgument(f"{flag}={value!r} must be a number in [{low:g}, {high:g}] "
                                  "(a log jump size, or jumps per day).")


MAX_DRIFT_DAILY = 1.0  # a log drift of 1 a day multiplies the price by e daily: already absurd
MAX_LOG_DRIFT = 50.0  # over the whole horizon: exp(50) ~ 5e21; beyond, prices overflow


def _print_summary(payload: dict[str, Any]) -> None:
    table = Table(
        title=f"{payload['model']} paths: {payload['n_paths']:,} x {payload['n_steps']} steps",
        title_justify="left",
    )
    table.add_column("USD")
    shown = ("mean", "p01", "p05", "p50", "p95", "p99")
    for key in shown:
        table.add_column(key, justify="right", no_wrap=True)
    for label, key in (("final price", "final_price_usd"), ("path minimum", "min_price_usd")):
        stats = payload[key]
        table.add_row(label, *(f"{stats[k]:,.0f}" for k in shown))
    print_table(table)
    if payload["output"]:
        console.print(f"wrote {payload['output']}", markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    # `calibrate` is market_cmds' command (the shipped data, --exchange or --archive)
    app.command("paths")(paths_cmd)
