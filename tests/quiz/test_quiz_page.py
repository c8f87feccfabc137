"""`advisor quiz --html`: the page's data against the engine, the command line, and the page itself
clicked through in a real headless Chromium (Debian's chromium and chromium-driver; `make browser`).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.paths import rules_dir, templates_dir
from advisor.quiz.bank import load_bank
from advisor.quiz.page import page_data, render_page
from advisor.quiz.session import make_question
from advisor.ruleset.rules import RuleSet
from tests.conftest import run_advisor

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
DATA_RE = re.compile(r'<script id="quiz-data" type="application/json">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "quiz.html"
    result = run_advisor("quiz", "--html", str(path), "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    return path


def embedded(path: Path) -> dict[str, Any]:
    match = DATA_RE.search(path.read_text(encoding="utf-8"))
    assert match, "the page holds no quiz data"
    return json.loads(match.group(1))


# --- the page's content ---------------------------------------------------------------------------


def test_page_holds_every_scenario_with_the_engines_answer(page: Path, ruleset: RuleSet) -> None:
    data = embedded(page)
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    assert [q["id"] for q in data["questions"]] == [s.id for s in bank.scenarios]
    by_id = {s.id: s for s in bank.scenarios}
    multi = 0
    for item in data["questions"]:
        question = make_question(by_id[item["id"]], bank, ruleset, 3)
        assert [o["label"] for o in item["options"]] == [o.label for o in question.options]
        right = [o["label"] for o in item["options"] if o["correct"]]
        if item["multi"]:
            multi += 1
            assert len(right) >= 2, item["id"]
            assert f"(Choose {len(right)}.)" in item["prompt"], item["id"]
        else:
            assert right == [question.correct.label], item["id"]
        assert item["answer"] == question.correct.label
        assert item["because"] and item["story"] == by_id[item["id"]].story
        assert all(o["why"] for o in item["options"] if not o["correct"]), item["id"]
        assert item["links"] and all(x.startswith("https://") for x in item["links"])
    assert multi, "no multiple-select question on the page"
    assert data["examCount"] == 50 and data["secondsPerQuestion"] == 144
    assert sum(d["weight"] for d in data["domains"]) == 100


def test_page_is_self_contained(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    markup = DATA_RE.sub("", html)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", markup, re.I)
    assert not re.search(r"\bsrc\s*=|@import|url\(|fetch\(|XMLHttpRequest", markup, re.I)
    assert "http://" not in markup and "https://" not in markup
    assert "default-src 'none'" in markup  # the page may load nothing, even if a link slipped in


def test_story_text_cannot_close_the_data_script(ruleset: RuleSet) -> None:
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    data = page_data(bank, ruleset, [bank.topic_ids[0]], 0)
    hostile = "</script><script>alert(1)</script><!-- \u2028"
    data["questions"][0]["story"] = hostile
    html = render_page(data, templates_dir())
    assert html.count("</script>") == 2  # the data's own and the program's
    assert embedded_text(html)["questions"][0]["story"] == hostile


def embedded_text(html: str) -> dict[str, Any]:
    match = DATA_RE.search(html)
    assert match
    return json.loads(match.group(1))


# --- the command line -----------------------------------------------------------------------------


def test_html_refuses_to_replace_a_file_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.html"
    target.write_text("my notes", encoding="utf-8")
    result = run_advisor("quiz", "--html", str(target), "--topic", "hyperparameter_tuning")
    assert result.returncode == 2
    assert str(target) in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_text(encoding="utf-8") == "my notes"
    forced = run_advisor(
        "quiz", "--html", str(target), "--force", "--topic", "hyperparameter_tuning"
    )
    assert forced.returncode == 0, forced.stderr
    data = embedded(target)
    assert data["questions"]
    assert all("hyperparameter_tuning" in q["topics"] for q in data["questions"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--html", "{tmp}/no/such/folder/q.html"], "does not exist"),
        (["--html", "{tmp}"], "is a folder"),
        (["--html", "{tmp}/q.html", "--exam"], "only --topic and --seed apply"),
        (["--html", "{tmp}/q.html", "--stats"], "not allowed with argument"),
        (["--force"], "--force: only with --html or --cards"),
        (["--cards", "{tmp}/q.html", "--count", "3"], "only --topic and --seed apply"),
    ],
)
def test_html_bad_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_advisor("quiz", *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "q.html").exists()


def test_flashcards_hold_every_question_as_anki_imports_them(tmp_path: Path) -> None:
    target = tmp_path / "pmle.txt"
    result = run_advisor(
        "quiz", "--cards", str(target), "--topic", "hyperparameter_tuning", "--seed", "3"
    )
    assert result.returncode == 0, result.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    headers = [line for line in lines if line.startswith("#")]
    assert headers == [
        "#separator:tab",
        "#html:true",
        "#guid column:1",
        "#tags column:4",
        "#columns:id\tfront\tback\ttags",
    ]
    rows = [line.split("\t") for line in lines[len(headers) :]]
    bank_page = tmp_path / "same.html"
    page_run = run_advisor(
        "quiz", "--html", str(bank_page), "--topic", "hyperparameter_tuning", "--seed", "3"
    )
    assert page_run.returncode == 0, page_run.stderr
    questions = embedded(bank_page)["questions"]
    assert len(rows) == len(questions) and all(len(row) == 4 for row in rows)
    for row, q in zip(rows, questions, strict=True):
        guid, front, back, tags = row
        assert guid == f"advisor-{q['id']}"
        assert html.escape(" ".join(q["story"].split())) in front
        letters = ", ".join("ABCD"[i] for i, o in enumerate(q["options"]) if o["correct"])
        assert back.startswith(f"<b>{letters}: {html.escape(q['answer'])}</b>")
        assert q["links"][0] in back
        assert tags.split() == ["pmle", *q["topics"]]
    again = run_advisor("quiz", "--cards", str(target))
    assert again.returncode == 2 and "--force" in again.stderr


# --- the page in a real browser -------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert shutil.which(CHROMIUM) and shutil.which(
        DRIVER
    ), "chromium or chromedriver is missing: `make test` installs them (make browser)"
    try:
        from selenium import webdriver
    except ImportError:
        pytest.fail("selenium is missing: it is a test extra (pip install -e '.[test]')")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The quiz page in the browser, read and clicked as a learner would."""

    def __init__(self, driver: Any, path: Path) -> None:
        self.driver = driver
        self.path = path
        self.data = embedded(path)
        driver.get_log("browser")  # what earlier tests left; every error from here on counts
        driver.get(path.as_uri())
        driver.execute_script("window.localStorage.clear()")
        driver.refresh()

    def leave_and_come_back(self) -> None:
        self.driver.get("about:blank")
        self.driver.get(self.path.as_uri())

    def el(self, element_id: str) -> Any:
        return self.driver.find_element("id", element_id)

    def text(self, element_id: str) -> str:
        return str(
            self.driver.execute_script(
                f"return document.getElementById('{element_id}').textContent"
            )
        )

    def visible(self, element_id: str) -> bool:
        return bool(self.el(element_id).is_displayed())

    def click(self, element_id: str) -> None:
        self.el(element_id).click()

    def fill(self, element_id: str, value: str) -> None:
        field = self.el(element_id)
        field.clear()
        field.send_keys(value)

    def current(self) -> dict[str, Any]:
        story = self.text("story")
        matches = [q for q in self.data["questions"] if q["story"] == story]
        assert len(matches) == 1, story
        return matches[0]

    def answer(self, right: bool) -> dict[str, Any]:
        """Tick the right option(s), or one wrong option; returns the question answered."""
        question = self.current()
        wanted = [i for i, o in enumerate(question["options"]) if o["correct"] == right]
        inputs = self.driver.find_elements("css selector", "#options input")
        for index in wanted if right else wanted[:1]:
            inputs[index].click()
        return question

    def checked(self) -> list[int]:
        inputs = self.driver.find_elements("css selector", "#options input")
        return [i for i, x in enumerate(inputs) if x.is_selected()]

    def storage(self) -> dict[str, Any]:
        raw = self.driver.execute_script(
            "return window.localStorage.getItem('advisor-quiz-progress-v1')"
        )
        return json.loads(raw) if raw else {}

    def wait_for(self, element_id: str, timeout: float = 20) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout).until(lambda _: self.visible(element_id))

    def assert_clean(self) -> None:
        """No JS error on the console, and nothing fetched: the page is one file."""
        errors = [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        fetched = self.driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert fetched == []


def test_practice_in_the_browser(browser: Any, page: Path) -> None:
    p = Page(browser, page)
    assert f"{len(p.data['questions'])} scenarios" in p.text("banner")
    p.fill("practice-count", "2")
    p.click("start-practice")
    assert p.text("position") == "Question 1 of 2"
    assert p.text("topic-line")  # practice shows the topic; the exam does not
    assert not p.el("check").is_enabled()  # nothing ticked yet
    first = p.answer(right=True)
    p.click("check")
    feedback = p.text("feedback")
    assert feedback.startswith("Right.")
    assert f"Answer: {first['answer']}" in feedback and first["because"] in feedback
    assert p.text("score") == "Score 1 / 1"
    assert all(not x.is_enabled() for x in browser.find_elements("css selector", "#options input"))
    p.click("next")
    assert p.text("position") == "Question 2 of 2"
    second = p.answer(right=False)
    p.click("check")
    feedback = p.text("feedback")
    assert feedback.startswith("Wrong.") and f"Answer: {second['answer']}" in feedback
    wrong = next(o for o in second["options"] if not o["correct"])
    assert "Why not the other options:" in feedback and wrong["why"] in feedback
    assert p.text("score") == "Score 1 / 2"
    assert browser.find_elements("css selector", "#options label.wrong")
    assert p.text("next") == "See the score"
    p.click("next")
    assert p.text("result-score") == "Score: 1 / 2 (50%)"
    cards = p.storage()["cards"]
    assert cards[first["id"]]["last"] is True and cards[first["id"]]["box"] == 2
    assert cards[second["id"]]["last"] is False and cards[second["id"]]["box"] == 1
    # Progress outlives the page: a reload shows it.
    browser.refresh()
    assert "No answers kept yet" not in p.text("progress")
    assert len(p.storage()["cards"]) == 2
    p.assert_clean()


def test_exam_in_the_browser(browser: Any, page: Path) -> None:
    p = Page(browser, page)
    assert p.el("exam-count").get_attribute("value") == "50"
    assert p.el("exam-minutes").get_attribute("value") == "120"
    p.fill("exam-count", "3")
    p.fill("exam-minutes", "30")
    p.click("start-exam")
    assert p.text("position") == "Question 1 of 3"
    assert p.text("topic-line") == "" and p.text("score") == ""
    assert re.fullmatch(r"Time left (30:00|29:5\d)", p.text("timer")), p.text("timer")
    assert not p.visible("check") and not p.el("back").is_enabled()
    first = p.answer(right=True)
    picked_first = p.checked()
    p.click("forward")
    second = p.answer(right=False)
    p.click("flag")
    p.click("forward")
    assert p.text("position") == "Question 3 of 3"
    assert not p.visible("forward")
    p.click("back")
    p.click("back")
    assert p.current() == first and p.checked() == picked_first  # answers survive going back
    assert not p.visible("feedback")  # no feedback until the end
    p.click("to-review")
    assert p.text("review-summary") == "1 not answered, 1 flagged, of 3."
    assert "flagged" in browser.find_elements("css selector", "#review-list li")[1].text
    browser.find_elements("css selector", "#review-list button.goto")[2].click()
    assert p.text("position") == "Question 3 of 3"
    third = p.answer(right=True)
    p.click("to-review")
    assert p.text("review-summary") == "0 not answered, 1 flagged, of 3."
    p.click("submit")
    assert p.text("result-score") == "Score: 2 / 3 (67%)"
    tables = p.text("result-tables")
    assert "Exam domain" in tables and "Weight" in tables
    review = p.text("result-review")
    assert review.count("Your answer:") == 3 and review.count("Wrong.") == 1
    assert second["answer"] in review and third["because"] in review
    assert p.text("coverage").startswith("These questions practise training decisions")
    cards = p.storage()["cards"]
    assert {cards[q["id"]]["last"] for q in (first, second, third)} == {True, False}
    p.assert_clean()


def test_exam_time_up_stop_and_leaving_keep_what_was_answered(browser: Any, page: Path) -> None:
    p = Page(browser, page)
    p.fill("exam-count", "2")
    p.fill("exam-minutes", "0.05")  # three seconds
    p.click("start-exam")
    p.answer(right=True)
    p.wait_for("result")
    assert p.text("result-score").startswith("Time is up. Unanswered questions count as wrong.")
    assert "Score: 1 / 2" in p.text("result-score")
    assert len(p.storage()["cards"]) == 2
    p.assert_clean()
    # Stopping an exam (the terminal's Ctrl-C) records only the answered questions.
    p = Page(browser, page)  # a fresh page with empty storage
    p.fill("exam-count", "3")
    p.fill("exam-minutes", "30")
    p.click("start-exam")
    answered = p.answer(right=False)
    p.click("quit")
    assert p.text("result-score") == "Score: 0 / 1 (0%); stopped after 1 answered of 3."
    assert list(p.storage()["cards"]) == [answered["id"]]
    p.assert_clean()
    # So does leaving the page mid-exam.
    p = Page(browser, page)
    p.fill("exam-count", "3")
    p.click("start-exam")
    left = p.answer(right=True)
    p.leave_and_come_back()
    assert list(p.storage()["cards"]) == [left["id"]]
    assert p.storage()["cards"][left["id"]]["last"] is True
    p.assert_clean()
