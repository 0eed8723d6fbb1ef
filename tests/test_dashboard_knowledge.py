"""The dashboard's "knowledge in use" panel: the clinical lead sees which guideline the advice comes
from, and an overdue review is flagged (safety case HAZ-03)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cds_service import Settings, create_app
from cds_service.dashboard.knowledge_in_use import knowledge_in_use
from tests.dashboard_pages import sign_in, users_file


def _app(tmp_path: Path):  # type: ignore[no-untyped-def]
    return create_app(
        Settings(
            auth="off",
            database_url=f"sqlite:///{tmp_path / 'log.sqlite'}",
            dashboard_users=users_file(tmp_path),
            secret_key="knowledge-panel-test",
        )
    )


def test_the_dashboard_flags_the_shipped_guideline_as_overdue_for_review(tmp_path: Path) -> None:
    app = _app(tmp_path)
    client = app.test_client()
    assert sign_in(client) == 303
    page = client.get("/dashboard").get_data(as_text=True)
    guideline = app.extensions["spine_cds.knowledge"].guideline
    assert f"next review {guideline.next_review}" in page
    assert "The review date has passed: the clinical lead must re-check the guideline." in page


def test_a_guideline_still_within_its_review_date_is_not_flagged(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        checked_day = date.fromisoformat(str(app.extensions["spine_cds.knowledge"].guideline.checked))
        assert knowledge_in_use(app, checked_day).overdue is False
        assert knowledge_in_use(app, date(2030, 1, 1)).overdue is True
