"""The dashboard's pages: sign in and out, the figures, the print view and the CSV export."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from cds_service.dashboard.charts import Series, legend, stacked_columns, stacked_rows
from cds_service.dashboard.export import csv_lines
from cds_service.dashboard.figures import MODALITIES, MODALITY_LABELS, PATHWAYS, Figures, build_figures
from cds_service.dashboard.knowledge_in_use import knowledge_in_use
from cds_service.dashboard.query import Client, Filters
from cds_service.dashboard.signin import (
    FailedSignIns,
    SignInForm,
    SignOutForm,
    client_address,
    sign_in_required,
    signed_in_user,
    start_session,
    users_file,
)
from cds_service.dashboard.tariff import Tariff
from cds_service.store import get_store

log = logging.getLogger("cds_service.dashboard")

dashboard = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
TARIFF_KEY = "spine_cds.dashboard_tariff"
FAILURES_KEY = "spine_cds.dashboard_failures"
DEFAULT_RANGE_DAYS = 90
MAX_RANGE_DAYS = 5 * 366
FIRST_YEAR, LAST_YEAR = 2000, 2999
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class BadFilter(ValueError):
    """The page's filters could not be read; the message says which."""


@dashboard.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _plain_page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("dashboard/message.html", title=title, message=message), status


def _csrf_refused(form: FlaskForm) -> bool:
    """Validate a POSTed form; True when its CSRF token is missing or wrong (nothing may be done)."""
    form.validate()
    return bool(form.errors.get("csrf_token"))


def _csrf_failed() -> tuple[str, int]:
    log.warning("dashboard form refused: missing or invalid CSRF token path=%s", request.path)
    return _plain_page(
        "Form not accepted",
        "This form had expired or did not come from this page, so nothing was done. "
        "Go back, reload the page and try again.",
        400,
    )


@dashboard.errorhandler(SQLAlchemyError)
def _log_unavailable(error: SQLAlchemyError) -> tuple[str, int]:
    log.error("dashboard: the decision log could not be read (%s)", type(error).__name__)
    return _plain_page(
        "Decision log unavailable", "The decision log cannot be read right now; try again shortly.", 503
    )


@dashboard.errorhandler(BadFilter)
def _bad_filter(error: BadFilter) -> tuple[str, int]:
    return _plain_page("Filters not understood", str(error), 400)


@dashboard.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    return _plain_page(error.name, error.description or error.name, error.code or 500)


def _failures() -> FailedSignIns:
    failures: FailedSignIns = current_app.extensions[FAILURES_KEY]
    return failures


@dashboard.route("/login", methods=["GET", "POST"])
def sign_in() -> Any:
    """The sign-in form; on success a fresh session and the dashboard."""
    form = SignInForm()
    error = None
    status = 200
    if request.method == "POST" and _csrf_refused(form):
        return _csrf_failed()
    if request.method == "POST" and not form.errors:
        name = form.username.data or ""
        keys = (f"address:{client_address()}", f"user:{name}")
        wait = _failures().retry_after(*keys)
        if wait:
            log.warning(
                "dashboard sign-in refused: too many failures user=%r address=%s", name, client_address()
            )
            page = render_template(
                "dashboard/login.html",
                form=form,
                error="Too many failed sign-ins. Wait a few minutes and try again.",
            )
            return Response(page, 429, headers={"Retry-After": str(wait)})
        stamp = users_file().check(name, form.password.data or "")
        if stamp is not None:
            _failures().clear(*keys)
            start_session(name, stamp)
            log.info("dashboard sign-in user=%r address=%s", name, client_address())
            return redirect(url_for("dashboard.overview"), code=303)
        _failures().record(*keys)
        log.warning("dashboard sign-in failed user=%r address=%s", name, client_address())
        error, status = "The user name or password is wrong.", 401
    elif request.method == "POST":
        error, status = "Enter your user name and password.", 400
    elif signed_in_user() is not None:
        return redirect(url_for("dashboard.overview"), code=303)
    return render_template("dashboard/login.html", form=form, error=error), status


@dashboard.post("/logout")
def sign_out() -> Any:
    """End the session (a POST with the page's CSRF token)."""
    if _csrf_refused(SignOutForm()):
        return _csrf_failed()
    name = signed_in_user()
    session.clear()
    if name is not None:
        log.info("dashboard sign-out user=%r", name)
    return redirect(url_for("dashboard.sign_in", signed_out=1), code=303)


@dashboard.get("/logout")
@sign_in_required
def sign_out_page() -> Any:
    """A page with the sign-out button (signing out is never a GET, so no link can do it)."""
    return render_template("dashboard/logout.html", sign_out=SignOutForm())


def _day(name: str, default: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"'{name}' must be a date written YYYY-MM-DD.") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadFilter(f"'{name}' must be a date between {FIRST_YEAR} and {LAST_YEAR}.")
    return day


def read_filters() -> Filters:
    """The date range and client filter from the query string (defaults: the last 90 days)."""
    today = datetime.now(UTC).date()
    last = _day("to", today)
    first = _day("from", last - timedelta(days=DEFAULT_RANGE_DAYS - 1))
    if first > last:
        raise BadFilter("The first day comes after the last day.")
    if (last - first).days > MAX_RANGE_DAYS:
        raise BadFilter("Choose a range of at most five years.")
    client = request.args.get("client", "")
    if len(client) > 600:
        raise BadFilter("Unknown client.")
    return Filters(first, last, Client.from_key(client) if client else None)


def _tariff() -> Tariff:
    tariff: Tariff = current_app.extensions[TARIFF_KEY]
    return tariff


def _charts(figures: Figures) -> dict[str, Any]:
    weeks = [week.strftime("%d %b") for week in figures.weeks]
    none: Counter[str] = Counter()
    by_pathway = [Series(p, [figures.by_pathway.get(w, none)[p] for w in figures.weeks]) for p in PATHWAYS]
    by_modality = [
        Series(MODALITY_LABELS[m], [figures.by_modality.get(w, none)[m] for w in figures.weeks])
        for m in MODALITIES
    ]
    shown = [o for o in figures.outcomes if o.shown]
    outcomes = [
        Series("accepted", [o.accepted for o in shown]),
        Series("overridden", [o.overridden for o in shown]),
        Series("no feedback", [o.no_feedback for o in shown]),
    ]
    return {
        "weekly_pathway": stacked_columns(
            "weekly-pathway",
            "Spinal orders evaluated per week, by pathway",
            weeks,
            by_pathway,
            f"{figures.decisions} orders in {len(weeks)} weeks; the table below gives each week's figures.",
        ),
        "weekly_pathway_legend": legend(by_pathway),
        "weekly_modality": stacked_columns(
            "weekly-modality",
            "Spinal orders evaluated per week, by modality",
            weeks,
            by_modality,
            "X-ray, CT and MRI orders per week; the table below gives each week's figures.",
        ),
        "weekly_modality_legend": legend(by_modality),
        "outcomes": stacked_rows(
            "outcomes",
            "Cards shown per pathway: accepted, overridden, no feedback",
            [o.pathway for o in shown],
            outcomes,
            "Share of each pathway's cards by outcome; the table below gives the counts.",
        ),
        "outcomes_legend": legend(outcomes),
    }


def _page(*, printing: bool) -> str:
    filters = read_filters()
    figures = build_figures(get_store(current_app).engine, filters, _tariff())
    return render_template(
        "dashboard/overview.html",
        printing=printing,
        figures=figures,
        charts=_charts(figures),
        knowledge=knowledge_in_use(current_app, datetime.now(UTC).date()),
        user=signed_in_user(),
        sign_out=SignOutForm(),
        query=request.query_string.decode("ascii", "replace"),
    )


@dashboard.get("")
@dashboard.get("/")
@sign_in_required
def overview() -> str:
    """The dashboard for the chosen range and client."""
    return _page(printing=False)


@dashboard.get("/print")
@sign_in_required
def print_view() -> str:
    """The same figures laid out for paper or PDF (the browser's Print / Save as PDF)."""
    return _page(printing=True)


@dashboard.get("/export.csv")
@sign_in_required
def export() -> Response:
    """Every decision in range with its card's outcome, as CSV streamed row by row."""
    filters = read_filters()
    engine = get_store(current_app).engine
    log.info("dashboard export user=%r from=%s to=%s", signed_in_user(), filters.first_day, filters.last_day)

    def body() -> Iterator[str]:
        yield from csv_lines(engine, filters)

    name = f"spine-cds-decisions-{filters.first_day}-{filters.last_day}.csv"
    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@dashboard.get("/<path:_rest>")
@sign_in_required
def unknown_page(_rest: str) -> tuple[str, int]:
    """Any other /dashboard URL: the sign-in page without a session, a plain 404 with one."""
    return _plain_page("Not found", "There is no such dashboard page.", 404)
