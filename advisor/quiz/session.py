"""`advisor quiz`: practice and timed exam runs over the scenario bank, answered by the engine.

The flow is independent of the terminal: questions are asked through an `Asker` (questionary in a
terminal, prompt_toolkit pipe input in tests) and shown through a `QuizView` (rich). The correct
option of every question is the engine's answer; the explanation comes from the rule trace.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from advisor.errors import AdvisorError
from advisor.quiz.bank import Bank, Scenario
from advisor.quiz.exam import run_exam
from advisor.quiz.explain import why_wrong
from advisor.quiz.progress import Progress
from advisor.quiz.solve import (
    SEPARATOR,
    Option,
    Solution,
    build_options,
    combined_pick,
    select_options,
    solve,
    why_not,
)
from advisor.ruleset.rules import RuleSet

DEFAULT_COUNT = 10
EXAM_COUNT = 50  # the real exam: 50 to 60 questions in 120 minutes
SECONDS_PER_QUESTION = 144  # 50 questions in 120 minutes
MASTERED_BOX = 4


class Asker(Protocol):
    """Asks one multiple-choice question; returns the chosen key, or None when time ran out."""

    def __call__(
        self,
        message: str,
        choices: list[tuple[str, str]],
        deadline: float | None,
        multi: bool = False,
    ) -> str | None: ...


@dataclass(frozen=True)
class QuizSettings:
    topics: tuple[str, ...] = ()
    count: int = DEFAULT_COUNT
    seed: int | None = None
    exam: bool = False
    review: bool = False
    time_limit: float | None = None  # seconds for the whole exam; default per question


@dataclass
class QuizQuestion:
    scenario: Scenario
    prompt: str
    options: list[Option]
    correct: Option
    solution: Solution
    multi: bool = False  # multiple select: tick every step of the answer
    list_field: str = ""  # the output field listing the steps (multiple select)

    def option(self, key: str) -> Option:
        """The option picked; for multiple select, `key` joins the keys of the options ticked."""
        if self.multi:
            return combined_pick(key.split(SEPARATOR), self.options, self.correct, self.list_field)
        return next(o for o in self.options if o.key == key)


@dataclass
class Explanation:
    """Why the engine's answer wins here and, for a wrong pick, why that pick loses."""

    answer_label: str
    because: str
    rule: str | None
    rule_title: str
    source: str
    warnings: list[str]
    refines: tuple[str, str] | None  # (id, title) of the guide rule the winning rule refines
    trap: str | None
    why_not: list[str] = field(default_factory=list)  # the wrong pick, in the story's terms
    others: list[tuple[str, list[str]]] = field(default_factory=list)  # every other option
    debug: list[str] = field(default_factory=list)  # the wrong pick in rule ids (--debug)
    link: str = ""  # a public page on the story's topic


@dataclass
class Response:
    question: QuizQuestion
    picked: Option | None  # None: not answered before time ran out
    explanation: Explanation

    @property
    def is_correct(self) -> bool:
        return self.picked is not None and self.picked.key == self.question.correct.key


@dataclass
class QuizResult:
    responses: list[Response]
    exam: bool
    timed_out: bool = False

    @property
    def score(self) -> int:
        return sum(r.is_correct for r in self.responses)

    @property
    def total(self) -> int:
        return len(self.responses)

    def by_domain(self, bank: Bank) -> list[tuple[str, int, int, int]]:
        """(domain title, weight, right, asked) for every exam domain, asked or not."""
        rows = []
        for domain in bank.domains:
            asked = [
                r for r in self.responses if set(domain.topics) & set(r.question.scenario.topics)
            ]
            rows.append((domain.title, domain.weight, sum(r.is_correct for r in asked), len(asked)))
        return rows

    def by_topic(self, bank: Bank) -> list[tuple[str, int, int]]:
        """(topic title, right, asked) for each topic the quiz touched, in the bank's order."""
        rows = []
        for topic in bank.topics:
            asked = [r for r in self.responses if topic.id in r.question.scenario.topics]
            if asked:
                rows.append((topic.title, sum(r.is_correct for r in asked), len(asked)))
        return rows


# --- building a quiz -----------------------------------------------------------------------------


def choose_scenarios(
    bank: Bank, progress: Progress, settings: QuizSettings, seed: int
) -> list[Scenario]:
    """The scenarios to ask, in order.

    With --seed the choice depends only on the seed, the topics and the bank (the same seed gives
    the same quiz). Otherwise the Leitner schedule leads: due scenarios (lowest box first), then
    unseen ones, then the rest by due date. --review asks only the scenarios last answered wrong.
    """
    rng = random.Random(seed)
    pool = sorted(bank.with_topics(list(settings.topics)), key=lambda s: s.id)
    now = progress.session + 1  # the session this quiz will be
    if settings.review:
        missed = progress.missed()
        chosen = [s for s in pool if s.id in missed]
        chosen.sort(key=lambda s: missed.index(s.id))
        if settings.seed is not None:
            rng.shuffle(chosen)
        return chosen[: settings.count]
    if settings.seed is not None:
        rng.shuffle(pool)
        return pool[: settings.count]
    rng.shuffle(pool)
    due = [s for s in pool if progress.is_due(s.id, now)]
    unseen = [s for s in pool if s.id not in progress.cards]
    later = [s for s in pool if s.id in progress.cards and not progress.is_due(s.id, now)]
    due.sort(key=lambda s: progress.cards[s.id].box)
    later.sort(key=lambda s: progress.cards[s.id].due)
    return (due + unseen + later)[: settings.count]


def make_question(scenario: Scenario, bank: Bank, ruleset: RuleSet, seed: int) -> QuizQuestion:
    solution = solve(scenario, ruleset)
    # A string seed hashes the same in every process, so options are stable for a seed.
    rng = random.Random(f"{seed}:{scenario.id}")
    prompt = scenario.question or bank.dimensions[scenario.dimension].question
    select = select_options(solution, bank, ruleset, rng)
    if select is not None:
        options, correct = select
        steps = len(correct.values.get(bank.dimensions[scenario.dimension].label_field or "", []))
        prompt = f"{prompt} (Choose {steps}.)"
        list_field = bank.dimensions[scenario.dimension].label_field or ""
        return QuizQuestion(scenario, prompt, options, correct, solution, True, list_field)
    options, correct = build_options(solution, bank, ruleset, rng)
    return QuizQuestion(scenario, prompt, options, correct, solution)


def explain(
    question: QuizQuestion, picked: Option | None, ruleset: RuleSet, bank: Bank
) -> Explanation:
    solution = question.solution
    rule = ruleset.by_id.get(str(solution.rule))
    refined = ruleset.by_id.get(rule.refines) if rule is not None and rule.refines else None
    wrong = picked is not None and picked.key != question.correct.key
    if question.multi:
        # Multiple select: the techniques that are not part of the answer.
        steps = set(question.correct.values.get(question.list_field) or [])
        others = [
            (o.label, why_wrong(o, solution, ruleset, bank))
            for o in question.options
            if o.values["choice"] not in steps
        ]
    else:
        others = [
            (o.label, why_wrong(o, solution, ruleset, bank))
            for o in question.options
            if o.key != question.correct.key and not (picked is not None and o.key == picked.key)
        ]
    return Explanation(
        answer_label=question.correct.label,
        because=solution.because,
        rule=solution.rule,
        rule_title=rule.title if rule else "",
        source=solution.source,
        warnings=solution.warnings,
        refines=(refined.id, refined.title) if refined else None,
        trap=question.scenario.trap,
        why_not=why_wrong(picked, solution, ruleset, bank) if wrong and picked is not None else [],
        others=others,
        debug=why_not(picked, solution, ruleset) if wrong and picked is not None else [],
        link=question.scenario.source,
    )


# --- running a quiz ------------------------------------------------------------------------------


def run_quiz(
    questions: list[QuizQuestion],
    *,
    ask: Asker,
    view: Any,
    progress: Progress,
    ruleset: RuleSet,
    bank: Bank,
    exam: bool,
    time_limit: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> QuizResult:
    """Ask every question. Practice mode explains after each answer, records it at once and
    waits for Enter before the next question; exam mode (see exam.py) is timed, silent until the
    end, and records the whole exam when it is submitted, or what was answered on Ctrl-C."""
    if exam:
        return _exam(questions, ask, view, progress, ruleset, bank, time_limit, clock)
    responses: list[Response] = []
    for index, question in enumerate(questions):
        view.question(index + 1, len(questions), question, None)
        choices = [(o.label, o.key) for o in question.options]
        key = ask(question.prompt, choices, None, multi=True) if question.multi else None
        if not question.multi:
            key = ask(question.prompt, choices, None)
        if key is None:
            break
        picked = question.option(key)
        response = Response(question, picked, explain(question, picked, ruleset, bank))
        responses.append(response)
        progress.record(question.scenario.id, response.is_correct)
        _save(progress, view)
        view.feedback(response)
        if index + 1 < len(questions):
            # A pause, so that the explanation stays on screen until the learner has read it.
            ask(PAUSE_PROMPT, [(NEXT_LABEL, NEXT_KEY)], None)
    for question in questions[len(responses) :]:
        responses.append(Response(question, None, explain(question, None, ruleset, bank)))
    return QuizResult(responses, exam=False)


PAUSE_PROMPT = "Read the explanation, then press Enter"
NEXT_LABEL = "Next question"
NEXT_KEY = "@next"


def _exam(
    questions: list[QuizQuestion],
    ask: Asker,
    view: Any,
    progress: Progress,
    ruleset: RuleSet,
    bank: Bank,
    time_limit: float | None,
    clock: Callable[[], float],
) -> QuizResult:
    deadline = clock() + (time_limit or SECONDS_PER_QUESTION * len(questions))
    state = run_exam(questions, ask=ask, view=view, deadline=deadline, clock=clock)
    responses = [
        Response(q, state.picks.get(i), explain(q, state.picks.get(i), ruleset, bank))
        for i, q in enumerate(questions)
    ]
    result = QuizResult(responses, exam=True, timed_out=state.timed_out)
    if state.interrupted:
        # Keep what was answered: those answers count; the questions not reached do not.
        answered = [r for r in responses if r.picked is not None]
        for response in answered:
            progress.record(response.question.scenario.id, response.is_correct)
        _save(progress, view)
        view.interrupted(sum(r.is_correct for r in answered), len(answered), len(responses))
        raise KeyboardInterrupt
    if state.timed_out:
        view.time_up()
    for response in responses:
        progress.record(response.question.scenario.id, response.is_correct)
    _save(progress, view)
    view.review(responses)
    return result


def _save(progress: Progress, view: Any) -> None:
    warning = progress.save()
    if warning:
        view.warn(warning)


def run_command(
    bank: Bank,
    ruleset: RuleSet,
    settings: QuizSettings,
    *,
    view: Any,
    progress: Progress,
    ask: Asker | None = None,
    make_asker: Callable[[], Asker] = lambda: _no_asker(),
) -> int:
    """The interactive quiz, as `advisor quiz` runs it.

    The terminal's asker is made by `make_asker` only once there is something to ask (the CLI
    passes its questionary prompt); tests pass pipe input through `ask`.
    """
    seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**31)
    scenarios = choose_scenarios(bank, progress, settings, seed)
    if not scenarios:
        view.message(
            "Nothing to review: no scenario is marked as missed."
            if settings.review
            else "No scenario matches these topics."
        )
        return 0
    if ask is None:
        ask = make_asker()
    progress.start_session()
    questions = [make_question(s, bank, ruleset, seed) for s in scenarios]
    time_limit = None
    if settings.exam:
        time_limit = settings.time_limit or SECONDS_PER_QUESTION * len(questions)
    view.start(
        len(questions),
        settings,
        time_limit,
        [bank.topic_title(t) for t in settings.topics],
        {t.id: t.title for t in bank.topics},
        coverage_banner(bank),
    )
    result = run_quiz(
        questions,
        ask=ask,
        view=view,
        progress=progress,
        ruleset=ruleset,
        bank=bank,
        exam=settings.exam,
        time_limit=time_limit,
    )
    view.score(result, result.by_topic(bank), result.by_domain(bank), coverage_note(bank))
    return 0


def coverage_banner(bank: Bank) -> str:
    """One line for the start of a quiz: what part of the exam these questions practise."""
    touched = [d for d in bank.domains if d.topics]
    share = sum(d.weight for d in touched)
    return (
        f"Training decisions only: {len(touched)} of the exam's {len(bank.domains)} domains"
        f" ({share}% of its weight), each in part; the score report says what is left out."
    )


def coverage_note(bank: Bank) -> str:
    """How much of the exam the bank practises, said plainly (from _domains.yaml)."""
    touched = [d for d in bank.domains if d.topics]
    untouched = [d for d in bank.domains if not d.topics]
    share = sum(d.weight for d in touched)
    parts = [
        f"These questions practise training decisions: {len(touched)} of the exam's"
        f" {len(bank.domains)} domains ({share}% of the exam by weight), each only in part."
    ]
    if untouched:
        names = "; ".join(f"{d.title} ({d.weight}%)" for d in untouched)
        parts.append(f"Not covered at all: {names}.")
    partly = "; ".join(f"{d.title}: {d.missing}" for d in touched if d.missing)
    if partly:
        parts.append(f"Also not covered: {partly}.")
    return " ".join(parts)


def _no_asker() -> Asker:
    raise AdvisorError("no way to ask the questions was given")


# --- listing and statistics ----------------------------------------------------------------------


def list_items(bank: Bank, ruleset: RuleSet, topics: list[str]) -> list[dict[str, Any]]:
    """Every scenario with its facts, the engine's answer and the explanation (interface.md)."""
    items = []
    for scenario in bank.with_topics(topics):
        solution = solve(scenario, ruleset)
        explanation = solution.because + (
            f" (source: {solution.source})" if solution.source else ""
        )
        items.append(
            {
                "id": scenario.id,
                "dimension": scenario.dimension,
                "topics": list(scenario.topics),
                "story": scenario.story,
                "question": scenario.question or bank.dimensions[scenario.dimension].question,
                "facts": scenario.facts,
                "expected": scenario.expected,
                "answer": solution.answer,
                "rule": solution.rule,
                "explanation": explanation,
                "source": solution.source,
                "link": scenario.source,  # a public page on the story's topic
                "warnings": solution.warnings,
                "agrees": solution.agrees,
                "trap": scenario.trap,
                "guide_scenarios": list(scenario.guide_scenarios),
            }
        )
    return items


def topic_stats(bank: Bank, progress: Progress) -> list[dict[str, Any]]:
    """Progress by topic, then a total row (topic None)."""
    groups: list[tuple[str | None, str, list[Scenario]]] = [
        (t.id, t.title, [s for s in bank.scenarios if t.id in s.topics]) for t in bank.topics
    ]
    groups.append((None, "All topics", list(bank.scenarios)))
    rows = []
    upcoming = progress.session + 1
    for topic_id, title, scenarios in groups:
        cards = [progress.cards[s.id] for s in scenarios if s.id in progress.cards]
        answers = sum(c.seen for c in cards)
        correct = sum(c.correct for c in cards)
        rows.append(
            {
                "topic": topic_id,
                "title": title,
                "scenarios": len(scenarios),
                "seen": len(cards),
                "answers": answers,
                "correct": correct,
                "accuracy": round(correct / answers, 3) if answers else None,
                "missed": sum(c.last_correct is False for c in cards),
                "mastered": sum(c.box >= MASTERED_BOX for c in cards),
                "due": sum(progress.is_due(s.id, upcoming) for s in scenarios),
            }
        )
    return rows
