"""The report page in a real browser (issue 13): Playwright driving Debian's chromium (no browser
download). One small fixture report and one browser for the whole module."""

from __future__ import annotations

import csv
import io
import os
import shutil

import pytest
from click.testing import CliRunner

from friction.cli import cli
from friction.report import build_report
from friction.store import Store

from report_fixture import K, XSS, make_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__(
    "playwright.sync_api").sync_api
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    make_store(root / "f.duckdb")
    with Store(root / "f.duckdb") as store:
        build_report(store, root / "rep", min_group=K)
    return root


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, built):
    """The report opened from its file, with every request and every script error recorded."""
    context = browser.new_context(accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(5000)
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto((built / "rep" / "report.html").as_uri())
    yield pg
    context.close()


def evidence_labels(pg) -> list[str]:
    return pg.eval_on_selector_all("#evidence .ev", "els => els.map(e => e.dataset.label)")


def test_the_page_makes_no_network_request_and_runs_clean(page, built):
    assert page.requests == [(built / "rep" / "report.html").as_uri()]
    assert page.errors == []
    assert page.locator("#trends svg").count() == 2


def test_a_filter_changes_what_is_shown(page):
    assert set(evidence_labels(page)) == {"blame", "culture_clash"}
    page.select_option("#f-label", "culture_clash")
    assert set(evidence_labels(page)) == {"culture_clash"}
    assert page.locator("#trends svg").count() == 1
    assert page.locator("#label-blame").is_hidden() and page.locator("#label-culture_clash").is_visible()
    page.select_option("#f-label", "")
    page.select_option("#f-team", "Sales")
    assert set(evidence_labels(page)) == {"culture_clash"}
    page.select_option("#f-team", "")
    page.select_option("#f-period", "2025-Q1")
    assert set(page.eval_on_selector_all("#evidence .ev .meta", "els => els.map(e => e.textContent.split(' · ')[3])")) \
        == {"2025-Q1"}


def test_clicking_a_cell_or_a_trend_point_shows_its_evidence_and_figures(page):
    page.click('#heatmap td[data-a="Ops"][data-t="Marketing"]')
    assert "Ops → Marketing" in page.inner_text("#detail") and "per 1,000" in page.inner_text("#detail")
    metas = page.eval_on_selector_all("#evidence .ev .meta", "els => els.map(e => e.textContent)")
    assert metas and all("Ops → Marketing" in m for m in metas)
    page.click('#trends div[data-label="culture_clash"] circle[data-period="2025-Q2"]')
    detail = page.inner_text("#detail")
    assert "Culture clash, all teams, 2025-Q2" in detail and "6 of 55 messages" in detail
    assert set(evidence_labels(page)) == {"culture_clash"}


def test_a_suppressed_cell_reveals_nothing_in_the_dom_either(page):
    cell = page.locator("#heatmap tr", has_text="Legal").locator("td.hid").first
    assert cell.inner_text() == "–" and cell.get_attribute("title") == "hidden"
    cell.click()
    assert page.inner_text("#detail") == ""
    dom = page.content()
    assert "LEGAL-SECRET" not in dom and "2025-08-14" not in dom
    page.select_option("#f-team", "Legal")
    assert evidence_labels(page) == [] and "hidden cells show none" in page.inner_text("#evidence")
    # Q3 blame between Ops and Marketing is hidden by complementary suppression: no point, no evidence
    page.select_option("#f-team", "")
    page.select_option("#f-label", "blame")
    page.select_option("#f-period", "2025-Q3")
    assert page.locator("#pairtrends circle[data-period='2025-Q3']").count() == 0
    assert evidence_labels(page) == []


def test_markup_in_a_message_neither_runs_nor_breaks_the_page(page):
    page.select_option("#f-period", "2025-Q2")
    page.select_option("#f-channel", "email")
    page.click('#heatmap td[data-a="Ops"][data-t="Marketing"]')
    texts = page.eval_on_selector_all("#evidence .ev .hit", "els => els.map(e => e.textContent)")
    assert XSS in texts                                        # shown as text, whole
    assert page.evaluate("window.__pwned") is None and page.errors == []
    assert page.locator("img").count() == 0
    assert page.locator("footer").count() == 1                 # the page after it still rendered


def test_marking_two_items_exports_the_expected_csv_which_review_and_train_accept(page, built, monkeypatch):
    page.select_option("#f-period", "2025-Q1")
    first, second = page.locator("#evidence .ev").nth(0), page.locator("#evidence .ev").nth(1)
    ids = [first.get_attribute("data-id"), second.get_attribute("data-id")]
    labels = [first.get_attribute("data-label"), second.get_attribute("data-label")]
    text0 = first.locator(".quote").inner_text()
    first.locator(".mark-right").click()
    other = "culture_clash" if labels[1] == "blame" else "blame"
    second.locator(".mark-wrong").select_option(other)
    assert page.inner_text("#n-marks") == "2 marked"
    with page.expect_download() as dl:
        page.click("#export")
    path = built / "reviews.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [(r["id"], r["labels"], r["model_label"], r["verdict"]) for r in sorted(rows, key=lambda r: r["id"])] == sorted(
        [(ids[0], labels[0], labels[0], "right"), (ids[1], other, labels[1], "wrong")])
    assert next(r for r in rows if r["id"] == ids[0])["text"] == " ".join(text0.split())
    r = CliRunner().invoke(cli, ["review", str(path), "--db", str(built / "f.duckdb")])
    assert r.exit_code == 0 and "recorded 2 reviews" in r.stderr, r.output
    seen = {}

    def fake_train(df, labels, **kw):  # training itself is tested elsewhere: here, what it is given
        seen["df"] = df
        raise SystemExit(0)

    import friction.model.training as training
    monkeypatch.setattr(training, "train_on_splits", fake_train)
    r = CliRunner().invoke(cli, ["train", str(path), "-o", str(built / "ours")])
    assert r.exit_code == 0, r.output
    got = seen["df"].sort_values("id")
    assert list(got["id"]) == sorted(ids)
    assert sorted(map(tuple, got["label_list"])) == sorted([(labels[0],), (other,)])
