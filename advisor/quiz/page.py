"""`advisor quiz --html` and `--cards`: the bank as one static HTML page, or as flashcards.

Every question is built here, as the terminal builds it (the engine's answer, its distractors and
why each one loses); the page template (templates/quiz/page.html, inline CSS and JS) only shows
them, runs the practice and exam modes and keeps progress in the browser's localStorage. The
flashcards are the same questions as a tab-separated file that Anki imports as it is (its file
headers name the separator and the columns) and other tools read as TSV.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from advisor.errors import BadRuleFile
from advisor.quiz.bank import Bank
from advisor.quiz.session import (
    DEFAULT_COUNT,
    EXAM_COUNT,
    SECONDS_PER_QUESTION,
    coverage_banner,
    coverage_note,
    explain,
    make_question,
)
from advisor.ruleset.rules import RuleSet

DATA_MARK = "/*QUIZ_DATA*/"  # where the template takes the bank, as JSON
PAGE_TEMPLATE = Path("quiz") / "page.html"


def page_data(bank: Bank, ruleset: RuleSet, topics: list[str], seed: int) -> dict[str, Any]:
    """The questions, answers and explanations the page shows, with the settings it starts from."""
    questions = []
    for scenario in bank.with_topics(topics):
        question = make_question(scenario, bank, ruleset, seed)
        explanation = explain(question, None, ruleset, bank)
        others = dict(explanation.others)
        if question.multi:
            steps = set(question.correct.values.get(question.list_field) or [])
            correct = {o.key for o in question.options if o.values["choice"] in steps}
        else:
            correct = {question.correct.key}
        links = [explanation.link, *explanation.source.split("; ")]
        questions.append(
            {
                "id": scenario.id,
                "topics": list(scenario.topics),
                "story": scenario.story,
                "prompt": question.prompt,
                "multi": question.multi,
                "options": [
                    {
                        "label": o.label,
                        "correct": o.key in correct,
                        "why": " ".join(others.get(o.label, [])),
                    }
                    for o in question.options
                ],
                "answer": explanation.answer_label,
                "because": explanation.because,
                "warnings": list(explanation.warnings),
                "trap": explanation.trap or "",
                "links": list(dict.fromkeys(x for x in links if x.startswith("https://"))),
            }
        )
    return {
        "banner": coverage_banner(bank),
        "coverage": coverage_note(bank),
        "practiceCount": DEFAULT_COUNT,
        "examCount": EXAM_COUNT,
        "secondsPerQuestion": SECONDS_PER_QUESTION,
        "topics": {t.id: t.title for t in bank.topics},
        "domains": [
            {"title": d.title, "weight": d.weight, "topics": d.topics} for d in bank.domains
        ],
        "questions": questions,
    }


def render_page(data: dict[str, Any], templates: Path) -> str:
    """The page: the template with the data inlined (no network, no server)."""
    path = templates / PAGE_TEMPLATE
    template = path.read_text(encoding="utf-8")
    if template.count(DATA_MARK) != 1:
        raise BadRuleFile(f"{path}: needs {DATA_MARK} exactly once, where the quiz data goes")
    # Inside <script>, "</" could close the element and "<!--" open a comment: escape both.
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    text = text.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return template.replace(DATA_MARK, text)


CARD_COLUMNS = ("id", "front", "back", "tags")


def flashcards(data: dict[str, Any]) -> str:
    """One card a question: the story, the question and its options on the front; the answer,
    why, why not each other option and where to read more on the back (HTML, one line a field)."""
    letters = "ABCDEFGH"
    lines = [
        "#separator:tab",
        "#html:true",
        "#guid column:1",
        f"#tags column:{CARD_COLUMNS.index('tags') + 1}",
        "#columns:" + "\t".join(CARD_COLUMNS),
    ]
    for q in data["questions"]:
        options = [f"{letters[i]}. {html.escape(o['label'])}" for i, o in enumerate(q["options"])]
        front = "<br>".join([html.escape(q["story"]), "", f"<b>{html.escape(q['prompt'])}</b>"])
        front += "<br>" + "<br>".join(options)
        right = ", ".join(letters[i] for i, o in enumerate(q["options"]) if o["correct"])
        back = [f"<b>{right}: {html.escape(q['answer'])}</b>", html.escape(q["because"])]
        back += [f"Note: {html.escape(w)}" for w in q["warnings"]]
        if q["trap"]:
            back.append(f"Trap: {html.escape(q['trap'])}")
        back += [
            f"Not {letters[i]}: {html.escape(o['why'])}"
            for i, o in enumerate(q["options"])
            if not o["correct"] and o["why"]
        ]
        back += [f'<a href="{html.escape(link)}">{html.escape(link)}</a>' for link in q["links"]]
        tags = " ".join(["pmle", *q["topics"]])
        fields = [f"advisor-{q['id']}", front, "<br>".join(back), tags]
        # Fields are single lines of HTML: a tab or newline in the text would split them.
        lines.append("\t".join(" ".join(f.split()) for f in fields))
    return "\n".join(lines) + "\n"
