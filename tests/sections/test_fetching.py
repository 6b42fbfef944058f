"""The hub's round of fetches against real HTTP servers on loopback: figures counted once, conditional requests,
and every fault of the issue (slow, too large, not JSON, elsewhere, an error) leaving the counted figures as they
were, with the reason for the organizer and a growing back-off."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from sections.models import Section, Snapshot
from sections.services import fetching, movement
from sections.services.http import FetchProblem, fetch
from tests.sections.conftest import KHALED, Answer, as_bytes, document

pytestmark = pytest.mark.django_db

GOOD = as_bytes(document({KHALED: {"BR": {"signature": 40, "letter": 2}}}))


def followed(server, **fields) -> Section:
    return Section.objects.create(name="Amnesty Brazil", countries=["BR"], totals_url=server.url(), **fields)


def counted(section: Section) -> Snapshot | None:
    return Snapshot.objects.current().filter(section=section).first()


def fetch_now(section: Section) -> fetching.RoundReport:
    return fetching.fetch_due_sections(only=[section.pk])


def test_it_counts_a_sections_figures_once_however_often_it_fetches(demo_campaign, section_server):
    section_server.answer = Answer(200, GOOD, {"Content-Type": "application/json"})
    section = followed(section_server)
    assert fetching.fetch_due_sections().counted == 1
    for _ in range(3):
        assert fetch_now(section).unchanged == 1
    assert Snapshot.objects.filter(section=section).count() == 1
    assert counted(section).total == 42
    summary = movement.refresh()
    assert summary["cases"][KHALED]["total"] == 42
    assert summary["total"] == 42


def test_new_figures_replace_the_counted_ones(demo_campaign, section_server):
    section = followed(section_server)
    section_server.answer = Answer(200, GOOD)
    fetch_now(section)
    section_server.answer = Answer(200, as_bytes(document({KHALED: {"BR": {"signature": 45, "letter": 2}}})))
    assert fetch_now(section).counted == 1
    assert [s.total for s in Snapshot.objects.filter(section=section)] == [47]


def test_it_asks_with_the_last_answers_etag_and_takes_304_as_unchanged(demo_campaign, section_server):
    section = followed(section_server)
    section_server.answer = Answer(200, GOOD, {"ETag": '"v1"', "Last-Modified": "Thu, 10 Dec 2026 18:00:00 GMT"})
    fetch_now(section)
    section_server.answer = lambda handler: Answer(304) if handler.headers["If-None-Match"] == '"v1"' else Answer(500)
    report = fetch_now(section)
    assert report.unchanged == 1 and report.failed == 0
    assert section_server.requests[-1]["headers"]["If-Modified-Since"] == "Thu, 10 Dec 2026 18:00:00 GMT"
    assert counted(section).total == 42


def test_it_is_only_due_again_after_the_interval(demo_campaign, section_server, settings):
    section = followed(section_server)
    section_server.answer = Answer(200, GOOD)
    assert fetching.fetch_due_sections().fetched == 1
    assert fetching.fetch_due_sections().fetched == 0
    Section.objects.filter(pk=section.pk).update(next_fetch_at=timezone.now() - datetime.timedelta(seconds=1))
    assert fetching.fetch_due_sections().fetched == 1


def fault_after_good_figures(section_server, answer: Answer) -> Section:
    section = followed(section_server)
    section_server.answer = Answer(200, GOOD)
    fetch_now(section)
    section_server.answer = answer
    assert fetch_now(section).failed == 1
    section.refresh_from_db()
    # The counted figures stand, whatever went wrong.
    assert counted(section).total == 42
    assert movement.refresh()["cases"][KHALED]["total"] == 42
    return section


def test_a_section_answering_in_30_seconds_is_given_up_on(demo_campaign, section_server, settings):
    settings.SECTIONS_FETCH_TIMEOUT_SECONDS = 1
    section = fault_after_good_figures(section_server, Answer(200, GOOD, delay=30))
    assert section.problem == "timeout"


def test_a_section_answering_a_byte_at_a_time_is_cut_off_by_the_same_deadline(demo_campaign, section_server, settings):
    settings.SECTIONS_FETCH_TIMEOUT_SECONDS = 1
    section = fault_after_good_figures(section_server, Answer(200, GOOD, drip=0.05))
    assert section.problem == "timeout"


def test_an_answer_of_10_mb_is_not_read(demo_campaign, section_server):
    section = fault_after_good_figures(section_server, Answer(200, b" " * (10 * 1024 * 1024)))
    assert (section.problem, section.problem_detail) == ("too_large", str(10 * 1024 * 1024))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html><body>Maintenance</body></html>", "invalid_json"),
        (as_bytes(document({KHALED: {"BR": {"signature": -40}}})), "bad_number"),
        (as_bytes(document({KHALED: {"BR": {"signature": 10**11}}})), "bad_number"),
        (as_bytes(document({"write-for-rights-2020/someone-else": {"BR": {"signature": 4}}})), "unknown_case"),
        (as_bytes(document({KHALED: {"BR": {"signature": 4}}}, version=2)), "version"),
        (as_bytes(document({KHALED: {"BR": {"signature": 4}}}, signers=["Ana <ana@example.org>"])), "not_aggregate"),
    ],
)
def test_a_document_the_hub_refuses_leaves_the_counted_figures(demo_campaign, section_server, body, problem):
    section = fault_after_good_figures(section_server, Answer(200, body))
    assert section.problem == problem
    assert section.problem_detail  # where: shown to the organizer


def test_an_error_backs_off_longer_each_time_and_the_section_comes_back_by_itself(
    demo_campaign, section_server, settings
):
    settings.SECTIONS_FETCH_INTERVAL_SECONDS = 60
    section = fault_after_good_figures(section_server, Answer(503))
    assert (section.problem, section.problem_detail, section.failures) == ("http_status", "503", 1)
    waits = []
    for _ in range(3):
        fetch_now(section)
        section.refresh_from_db()
        waits.append(round((section.next_fetch_at - timezone.now()).total_seconds() / 60))
    assert waits == [2, 4, 8]
    section_server.answer = Answer(200, GOOD)
    assert fetch_now(section).unchanged == 1
    section.refresh_from_db()
    assert (section.problem, section.failures) == ("", 0)


def test_a_redirect_elsewhere_is_refused_and_never_followed(demo_campaign, start_section_server):
    section_server, elsewhere = start_section_server(), start_section_server()
    elsewhere.answer = Answer(200, GOOD)
    section = fault_after_good_figures(section_server, Answer(302, headers={"Location": elsewhere.url()}))
    assert (section.problem, section.problem_detail) == ("redirect", f"http://127.0.0.1:{elsewhere.port}")
    for target in ("http://169.254.169.254/latest/meta-data/", "http://localhost:6379/", "file:///etc/passwd"):
        section_server.answer = Answer(301, headers={"Location": target})
        assert fetch_now(section).failed == 1
    # No request ever reached another address.
    assert elsewhere.requests == []


def test_a_redirect_to_the_same_place_is_followed(demo_campaign, section_server):
    moved = Answer(301, headers={"Location": "/api/v1/totals/"})
    section_server.answer = lambda handler: Answer(200, GOOD) if handler.path == "/api/v1/totals/" else moved
    section = followed(section_server)
    assert fetch_now(section).counted == 1


def test_only_web_addresses_are_called(settings):
    for address in ("file:///etc/passwd", "gopher://127.0.0.1:70/", "http://user:pw@127.0.0.1/", "http:///x"):
        with pytest.raises(FetchProblem) as problem:
            fetch(address)
        assert problem.value.code == "address"


def test_an_unreachable_section_is_reported(demo_campaign):
    section = Section.objects.create(name="Gone", totals_url="http://127.0.0.1:9/api/v1/totals")
    assert fetch_now(section).failed == 1
    section.refresh_from_db()
    assert section.problem == "unreachable"


def test_a_section_not_heard_from_is_stale_with_its_last_figures(demo_campaign, section_server, settings):
    settings.SECTIONS_STALE_AFTER_SECONDS = 600
    section = followed(section_server)
    section_server.answer = Answer(200, GOOD)
    fetch_now(section)
    assert movement.refresh()["sections"][0]["stale"] is False
    Section.objects.filter(pk=section.pk).update(last_received_at=timezone.now() - datetime.timedelta(minutes=11))
    entry = movement.refresh()["sections"][0]
    assert (entry["stale"], entry["total"]) == (True, 42)
    fetch_now(section)
    assert movement.refresh()["sections"][0]["stale"] is False


@pytest.mark.django_db(transaction=True)
def test_two_rounds_at_once_never_fetch_one_section_twice(demo_campaign, section_server):
    from tests.conftest import run_in_threads

    section_server.answer = Answer(200, GOOD, delay=0.5)
    for n in range(4):
        Section.objects.create(name=f"Section {n}", totals_url=section_server.url())
    reports = run_in_threads(lambda i: fetching.fetch_due_sections(), 2)
    assert sum(r.fetched for r in reports) == 4
    assert len(section_server.requests) == 4
