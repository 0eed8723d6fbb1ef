"""The red-flag check loop in Chromium through `spine-cds serve`, on SQLite and PostgreSQL.

order-select on node A -> the card's link -> the page in the browser -> answers -> the same order
selected again (a new hookInstance) on node B, which shares A's database -> the new decision.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from cds_service.store import tables
from tests.check_loop import ask_about_items, check_link, lumbar_mri_call, refired, the_card
from tests.fixtures.browser import axe_violations, save_screenshot
from tests.servers import RunningServer, spine_cds_serve

SELECT_PATH = "/cds-services/spinal-imaging-order-select"
KEYS = {
    "SPINE_CDS_AUTH": "off",
    "SPINE_CDS_SECRET_KEY": "browser-test-secret",
    "SPINE_CDS_PATIENT_HASH_KEY": "browser-test-patient-key",
}


@dataclass(frozen=True)
class TwoNodes:
    """Two `spine-cds serve` instances on one database."""

    a: RunningServer
    b: RunningServer
    database_url: str

    def stored_answers(self) -> list[Any]:
        """Every stored answer row."""
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(sa.select(tables.red_flag_answers)))
        finally:
            engine.dispose()


def order_select(node: RunningServer, call: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(node.url + SELECT_PATH, json=call, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def sqlite_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    """Two nodes on one SQLite file, for the whole module."""
    workdir = tmp_path_factory.mktemp("check-sqlite")
    url = f"sqlite:///{workdir / 'shared.sqlite'}"
    yield from _two_nodes(workdir, url)


def _two_nodes(workdir: Path, url: str) -> Iterator[TwoNodes]:
    env = {**KEYS, "SPINE_CDS_DATABASE_URL": url}
    with ExitStack() as stack:
        (workdir / "a").mkdir(exist_ok=True)
        (workdir / "b").mkdir(exist_ok=True)
        a = stack.enter_context(spine_cds_serve(workdir / "a", env, workers=1))
        b = stack.enter_context(spine_cds_serve(workdir / "b", env, workers=1))
        yield TwoNodes(a, b, url)


def answer_in_browser(page: Any, link: str, answers: dict[str, str]) -> Any:
    """Open the link, tick the answers, submit; returns the response of the submitted form."""
    opened = page.goto(link)
    assert opened.status == 200
    for question, answer in answers.items():
        page.check(f"#{question}-{answer}")
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    return navigation.value


def test_yes_to_saddle_anaesthesia_on_one_node_makes_the_next_card_critical_on_the_other(
    page: Any, sqlite_nodes: TwoNodes
) -> None:
    loop_started = time.perf_counter()
    call = lumbar_mri_call("browser-patient-1")
    first = order_select(sqlite_nodes.a, call)
    assert the_card(first)["indicator"] != "critical"
    link = check_link(first)
    assert link is not None and link.startswith(sqlite_nodes.a.url + "/check/")

    page.set_viewport_size({"width": 360, "height": 740})  # a narrow window
    page.goto(link)
    assert page.get_by_role("heading", level=1).inner_text().startswith("Red-flag questions")
    assert "MRI lumbar spine" in page.content()
    checks_started = time.perf_counter()  # the accessibility check and screenshots are not the loop
    assert axe_violations(page) == []
    save_screenshot(page, "red-flag-check-form")
    not_loop = time.perf_counter() - checks_started
    page.get_by_role("group", name="Saddle anaesthesia").get_by_label("Yes").check()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save the answers").click()
    assert navigation.value.status == 200
    assert "Emergency department now" in page.content()
    checks_started = time.perf_counter()
    assert axe_violations(page) == []
    save_screenshot(page, "red-flag-check-answered")
    not_loop += time.perf_counter() - checks_started

    again = the_card(order_select(sqlite_nodes.b, refired(call)))
    loop_seconds = time.perf_counter() - loop_started - not_loop
    print(f"\nred-flag check loop (order-select, page, answers, re-fired order-select): {loop_seconds:.2f} s")
    assert again["indicator"] == "critical"
    assert "stated by the clinician in the red-flag check at" in again["detail"]


def test_all_no_on_a_routine_record_gives_imaging_not_indicated_with_no_questions_left(
    page: Any, sqlite_nodes: TwoNodes
) -> None:
    call = lumbar_mri_call("browser-patient-2")
    link = check_link(order_select(sqlite_nodes.a, call)) or ""
    page.goto(link)
    questions = page.eval_on_selector_all("input[type=radio][value=no]", "inputs => inputs.map(i => i.name)")
    answered = answer_in_browser(page, link, dict.fromkeys(questions, "no"))
    assert answered.status == 200
    assert "No red flags in the record or in the answers" in page.content()

    again = order_select(sqlite_nodes.b, refired(call))
    assert again["systemActions"][0]["resource"]["extension"][0]["extension"][0]["valueCode"] == (
        "imaging-not-indicated"
    )
    assert ask_about_items(the_card(again)) == []


def test_answers_for_patient_a_never_change_patient_b(page: Any, sqlite_nodes: TwoNodes) -> None:
    link = check_link(order_select(sqlite_nodes.a, lumbar_mri_call("browser-patient-a"))) or ""
    answer_in_browser(page, link, {"saddle-anaesthesia": "yes", "bladder-or-bowel-dysfunction": "yes"})
    other = the_card(order_select(sqlite_nodes.b, lumbar_mri_call("browser-patient-b")))
    assert other["indicator"] != "critical"
    assert "stated by the clinician" not in other["detail"]


def test_a_tampered_or_reused_link_gets_a_clear_page_and_stores_nothing(
    page: Any, sqlite_nodes: TwoNodes
) -> None:
    link = check_link(order_select(sqlite_nodes.a, lumbar_mri_call("browser-patient-3"))) or ""
    before = len(sqlite_nodes.stored_answers())
    tampered = page.goto(link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB"))
    assert tampered.status == 400
    assert page.get_by_role("heading", level=1).inner_text() == "This link is not valid"

    second_tab = page.context.new_page()  # the same link left open in another tab
    second_tab.goto(link)
    answer_in_browser(page, link, {"trauma": "no"})
    second_tab.check("#saddle-anaesthesia-yes")
    with second_tab.expect_navigation() as navigation:
        second_tab.click("button[type=submit]")
    assert navigation.value.status == 409
    assert "already answered" in second_tab.content()
    assert page.goto(link).status == 409
    assert len(sqlite_nodes.stored_answers()) == before + 1  # only the first form's one answer


def test_an_expired_link_gets_a_clear_page(page: Any, tmp_path: Path) -> None:
    env = {**KEYS, "SPINE_CDS_CHECK_TOKEN_MINUTES": "0"}
    with spine_cds_serve(tmp_path, env, workers=1) as node:
        link = check_link(order_select(node, lumbar_mri_call("browser-patient-4"))) or ""
        time.sleep(1.1)  # the link's whole-second age passes its zero-minute lifetime
        expired = page.goto(link)
        assert expired.status == 410
        assert page.get_by_role("heading", level=1).inner_text() == "This link has expired"
        assert axe_violations(page) == []


def test_the_page_works_without_javascript(page_without_javascript: Any, sqlite_nodes: TwoNodes) -> None:
    call = lumbar_mri_call("browser-patient-5")
    link = check_link(order_select(sqlite_nodes.a, call)) or ""
    answered = answer_in_browser(page_without_javascript, link, {"bladder-or-bowel-dysfunction": "yes"})
    assert answered.status == 200
    assert "bladder or bowel disturbance \u2013 yes" in page_without_javascript.content()
    assert the_card(order_select(sqlite_nodes.b, refired(call)))["indicator"] == "critical"


@pytest.mark.postgres
def test_the_loop_on_postgresql_with_two_nodes(page: Any, tmp_path: Path, postgres_url: str) -> None:
    for nodes in _two_nodes(tmp_path, postgres_url):
        call = lumbar_mri_call("browser-patient-pg")
        link = check_link(order_select(nodes.a, call)) or ""
        assert answer_in_browser(page, link, {"saddle-anaesthesia": "yes"}).status == 200
        assert the_card(order_select(nodes.b, refired(call)))["indicator"] == "critical"
        assert [(row.question, row.answer) for row in nodes.stored_answers()] == [
            ("saddle-anaesthesia", "yes")
        ]
