"""The Dash app of ``delever dashboard``: the page, its light callbacks (scenario, what-if,
downloads) and the heavy panels' background jobs (progress, cancel, a disk cache of results
per scenario, seed and parameters)."""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Any

import dash
from dash import DiskcacheManager, Input, Output, State, html
from pydantic import ValidationError

from delever import __version__
from delever._json import dumps_json, to_jsonable
from delever.dashboard import jobs
from delever.dashboard.figures import WHATIF_SHAPE
from delever.dashboard.layout import (
    FORM_FIELDS,
    JOBS,
    at_risk_text,
    fast_panels,
    form_values,
    header_note,
    page,
    whatif_children,
    whatif_table,
)
from delever.dashboard.model import (
    ScenarioInput,
    check_upload,
    edited_input,
    load_input,
    scenario_error_line,
    shocked_price_usd,
)
from delever.errors import InvalidArgument

JOB_POLL_MS = 250  # how often the page asks a background job for progress

_STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 0;
       color: #222; line-height: 1.4; background: #fafafa; }
.page { max-width: 1280px; margin: 0 auto; padding: 0 16px 40px; }
h1 { font-size: 1.5em; margin: 16px 0 4px; } h3 { font-size: 1.05em; margin: 12px 0 4px; }
.note { color: #555; font-size: 0.9em; margin: 4px 0; }
.panel { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 12px 0;
         padding: 6px 14px; }
.panel > summary { font-weight: 600; font-size: 1.1em; cursor: pointer; padding: 6px 0; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center;
            margin: 6px 0; }
.field { display: inline-flex; flex-direction: column; font-size: 0.85em; color: #444; }
.field input { width: 10em; padding: 3px; }
.slider-box { flex: 1 1 100%; min-width: 260px; padding: 4px 0 18px; }
.panel-body { overflow-x: auto; }
table.figures { border-collapse: collapse; margin: 6px 0 10px; }
table.figures td, table.figures th { padding: 2px 14px 2px 0; text-align: left; }
table.figures td.v { text-align: right; font-variant-numeric: tabular-nums; }
.graph { width: 100%; min-width: 320px; }
.error { color: #b00020; font-weight: 600; }
.state { font-size: 0.9em; color: #333; }
.progress { width: 160px; }
.upload { border: 1px dashed #999; border-radius: 6px; padding: 12px; text-align: center;
          margin: 6px 0; }
button { padding: 4px 10px; }
"""

_INDEX = """<!DOCTYPE html>
<html lang="en"><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}
<style>""" + _STYLE + """</style></head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body></html>"""


def create_app(source: ScenarioInput | None = None, *, cache_dir: Path | None = None,
               scheduler: str | None = None) -> dash.Dash:
    """The dashboard for ``source`` (default: the built-in default scenario).

    ``cache_dir``: the disk cache of the background jobs' results (default: a new temporary
    folder). ``scheduler``: a Dask scheduler's address where the plan and the advice evaluate
    (default: in the job's own process). Every asset (Dash's and plotly's JavaScript) is
    served by the app itself.
    """
    import diskcache

    source = source or ScenarioInput()
    load_input(source)  # a bad scenario fails here, before any server starts
    folder = cache_dir or Path(tempfile.mkdtemp(prefix="delever-dashboard-"))
    manager = DiskcacheManager(  # type: ignore[no-untyped-call]
        diskcache.Cache(str(folder)), cache_by=[lambda: f"delever {__version__}"])
    app = dash.Dash("delever.dashboard", title="delever dashboard", serve_locally=True,
                    background_callback_manager=manager, update_title="",
                    assets_ignore=".*", index_string=_INDEX)
    app.layout = lambda: page(source)
    _register_scenario(app)
    _register_whatif(app)
    _register_downloads(app)
    for job in JOBS:
        _register_job(app, job, scheduler)
    return app


def _source(data: dict[str, Any] | None) -> ScenarioInput:
    return ScenarioInput.from_store(data)


def _error_line(exc: Exception) -> str:
    """As the CLI says it: ``error: ...`` for bad input, ``internal error: ...`` else."""
    if isinstance(exc, InvalidArgument | ValidationError):
        return f"error: {scenario_error_line(exc)}"
    return f"internal error: {type(exc).__name__}: {exc}"


def _register_scenario(app: dash.Dash) -> None:
    @app.callback(Output("scenario-store", "data"), Output("scenario-error", "children"),
                  Input("scenario-upload", "contents"), State("scenario-upload", "filename"),
                  prevent_initial_call=True)
    def upload(contents: str | None, filename: str | None) -> tuple[Any, str]:
        if not contents:
            raise dash.exceptions.PreventUpdate
        name = Path(filename or "uploaded.toml").name
        try:
            text = base64.b64decode(contents.split(",", 1)[1]).decode("utf-8")
        except (IndexError, binascii.Error, UnicodeDecodeError):
            return dash.no_update, f"error: {name}: not a UTF-8 text file."
        try:
            return check_upload(text, name).to_store(), ""
        except Exception as exc:  # the line `delever validate` prints
            return dash.no_update, _error_line(exc)

    @app.callback(Output("scenario-store", "data", allow_duplicate=True),
                  Output("scenario-error", "children", allow_duplicate=True),
                  Input("form-apply", "n_clicks"), State("scenario-store", "data"),
                  State("form-mark", "value"), State("form-sigma", "value"),
                  State("form-adv", "value"), State("form-y", "value"),
                  State("form-book", "value"), prevent_initial_call=True)
    def apply_form(_: int, data: dict[str, Any], mark: float | None, sigma: float | None,
                   adv: float | None, impact_y: float | None, book: float | None
                   ) -> tuple[Any, str]:
        values = {"mark_price_usd": mark, "sigma_daily": sigma, "adv_eth": adv,
                  "impact_y": impact_y, "book_collateral_eth": book}
        try:
            return edited_input(_source(data), values).to_store(), ""
        except Exception as exc:
            return dash.no_update, _error_line(exc)

    @app.callback(Output("position-body", "children"), Output("exit-body", "children"),
                  Output("ladder-figure-box", "children"),
                  Output("whatif-slider-box", "children"), Output("whatif-body", "children"),
                  Output("scenario-title", "children"), Output("scenario-origin", "children"),
                  Output("scenario-note", "children"),
                  *[Output(field_id, "value") for field_id, _ in FORM_FIELDS],
                  Input("scenario-store", "data"), prevent_initial_call=True)
    def scenario_changed(data: dict[str, Any]) -> tuple[Any, ...]:
        source = _source(data)
        fast = fast_panels(source)
        scenario = load_input(source)
        return (fast["position"], fast["exit"], fast["ladder"], fast["slider"],
                whatif_children(fast), fast["title"],
                f"showing: {source.origin or source.name}", header_note(scenario),
                *form_values(scenario))


def _register_whatif(app: dash.Dash) -> None:
    @app.callback(Output("whatif-table-box", "children"), Output("whatif-graph", "figure"),
                  Output("ladder-at-risk", "children"), Output("whatif-error", "children"),
                  Input("whatif-price", "value"), Input("whatif-shock", "value"),
                  State("scenario-store", "data"), prevent_initial_call=True)
    def whatif(price: float | None, shock: float | None, data: dict[str, Any]
               ) -> tuple[Any, Any, Any, str]:
        # only the protocol math runs here; the figure's curves stay, its line moves (Patch)
        if price is None:
            raise dash.exceptions.PreventUpdate
        scenario = load_input(_source(data))
        try:
            moved = shocked_price_usd(float(price), shock)
        except InvalidArgument as exc:
            return dash.no_update, dash.no_update, dash.no_update, f"error: {exc}"
        return (whatif_table(scenario, moved), whatif_line_patch(moved),
                at_risk_text(scenario, moved), "")


def whatif_line_patch(price_usd: float) -> dash.Patch:
    """Move the what-if line of the HF figure (:func:`hf_against_price_figure`: the third
    shape and annotation) to ``price_usd``."""
    patch = dash.Patch()
    patch["layout"]["shapes"][WHATIF_SHAPE]["x0"] = price_usd
    patch["layout"]["shapes"][WHATIF_SHAPE]["x1"] = price_usd
    patch["layout"]["annotations"][WHATIF_SHAPE]["x"] = price_usd
    return patch


def _results(data: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    scenario = load_input(_source(data))
    payload: dict[str, Any] = {"scenario": scenario.name, "title": scenario.spec.title,
                               **scenario.position_report().to_dict()}
    for job, value in zip(JOBS, results, strict=True):
        payload[job] = value
    return to_jsonable(payload)  # type: ignore[no-any-return]


def _register_downloads(app: dash.Dash) -> None:
    @app.callback(Output("download", "data"), Output("download-state", "children"),
                  Input("download-toml-button", "n_clicks"),
                  Input("download-json-button", "n_clicks"),
                  Input("download-html-button", "n_clicks"),
                  State("scenario-store", "data"), State("mc-paths", "value"),
                  State("mc-seed", "value"), *[State(f"results-{j}", "data") for j in JOBS],
                  prevent_initial_call=True)
    def download(_a: int, _b: int, _c: int, data: dict[str, Any], paths: Any, seed: Any,
                 *results: Any) -> tuple[Any, str]:
        source = _source(data)
        name = load_input(source).name
        which = dash.ctx.triggered_id
        if which == "download-toml-button":
            return {"content": source.text(), "filename": f"{name}.toml"}, ""
        if which == "download-json-button":
            return {"content": dumps_json(_results(data, list(results))),
                    "filename": f"{name}-results.json"}, ""
        try:
            n_paths, n_seed = jobs.check_job_options(paths, seed)
        except InvalidArgument as exc:
            return dash.no_update, f"error: {exc}"
        return {"content": html_report(source, n_paths, n_seed),
                "filename": f"{name}-report.html"}, ""


def html_report(source: ScenarioInput, paths: int, seed: int) -> str:
    """The report of ``delever run`` for the page's scenario (``paths``, ``seed``)."""
    from delever.report.format import report_units
    from delever.report.html import render_report, report_footer
    from delever.report.run_report import RunFacts, run_report_sections
    from delever.scenario.runner import run

    result = run(load_input(source), paths=paths, seed=seed)
    scenario = result.scenario
    estimated = scenario.estimates()
    sections = run_report_sections(
        result.position, sale=result.sale, simulation=result.simulation_sample,
        replay=result.replay, cascade=result.cascade, plan=result.plan, advice=result.advice,
        recommendation=result.recommendation,
        facts=RunFacts(result.n_paths, result.seed,
                       {key: item.value for key, item in scenario.spec.reported.items()},
                       bool(estimated), report_units(result.payload.get("engine_frame"))))
    return render_report(f"delever: {scenario.spec.title or scenario.name}", sections,
                         footer=report_footer(estimated))


def _job_states(job: str) -> list[State]:
    extra = {"strategies": ["strategies-steps"], "plan": ["plan-alpha", "plan-lambda"],
             "cascade": ["cascade-shock"]}.get(job, [])
    # the job's own name first: the results cache keys on the arguments and the function's
    # source, which every job shares
    states = [State(f"{job}-run", "id"), State("mc-paths", "value"), State("mc-seed", "value")]
    states += [State(name, "value") for name in extra]
    if job == "plan":
        states.append(State("plan-history", "data"))
    return states


def _run_job(job: str, progress: jobs.Progress, source: ScenarioInput, values: list[Any],
             scheduler: str | None) -> jobs.JobOutput:
    if job == "replay":
        return jobs.replay_job(source, progress)
    if job == "cascade":
        return jobs.cascade_job(source, values[2], progress)
    paths, seed = jobs.check_job_options(values[0], values[1])
    if job == "strategies":
        steps = values[2]
        if not (isinstance(steps, int | float) and float(steps).is_integer()
                and 1 <= steps <= 8760):
            raise InvalidArgument(f"steps={steps!r} must be a whole number in [1, 8760].")
        return jobs.strategies_job(source, paths, seed, int(steps), progress)
    if job == "plan":
        alpha, lam = values[2], values[3]
        if alpha is None or lam is None:
            raise InvalidArgument("alpha and lambda must be given, e.g. 0.05 and 0.1.")
        return jobs.plan_job(source, paths, seed, (float(alpha), float(lam)),
                             list(values[4] or []), progress, scheduler)
    return jobs.advice_job(source, paths, seed, progress, scheduler)


def _register_job(app: dash.Dash, job: str, scheduler: str | None) -> None:
    outputs = [Output(f"{job}-body", "children"), Output(f"results-{job}", "data"),
               Output(f"{job}-state", "children")]
    if job == "plan":
        outputs.append(Output("plan-history", "data"))

    @app.callback(*outputs, Input(f"{job}-run", "n_clicks"), Input("scenario-store", "data"),
                  *_job_states(job), background=True, interval=JOB_POLL_MS,
                  progress=[Output(f"{job}-progress", "value"),
                            Output(f"{job}-progress", "max")],
                  running=[(Output(f"{job}-run", "disabled"), True, False),
                           (Output(f"{job}-cancel", "disabled"), False, True),
                           (Output(f"{job}-running", "children"), "running…", ""),
                           # the last run's outcome is hidden while a new one runs
                           (Output(f"{job}-state", "style"), {"display": "none"}, {})],
                  cancel=[Input(f"{job}-cancel", "n_clicks")], cache_args_to_ignore=[1],
                  prevent_initial_call=False)
    def run_job(set_progress: Any, _: int, data: dict[str, Any], __: str, *values: Any
                ) -> list[Any]:
        def progress(done: float, total: float, what: str) -> None:
            set_progress((str(done), str(max(total, 1))))

        try:
            children, payload = _run_job(job, progress, _source(data), list(values),
                                         scheduler)
        except InvalidArgument as exc:
            line = f"error: {exc}"
            out: list[Any] = [html.P(line, className="error"), None, line]
            return out + ([dash.no_update] if job == "plan" else [])
        out = [children, payload, "finished"]
        return out + ([payload["frontier"]] if job == "plan" else [])

    @app.callback(Output(f"{job}-state", "children", allow_duplicate=True),
                  Output(f"{job}-body", "children", allow_duplicate=True),
                  Output(f"results-{job}", "data", allow_duplicate=True),
                  Input(f"{job}-cancel", "n_clicks"), prevent_initial_call=True)
    def cancelled(_: int) -> tuple[str, Any, None]:
        return "cancelled", html.P("cancelled: no results; press Run to start again.",
                                   className="note"), None


def serve(app: dash.Dash, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve ``app`` (the Flask server, threaded) until interrupted."""
    app.run(host=host, port=port, debug=False)


__all__ = ["create_app", "html_report", "serve"]
