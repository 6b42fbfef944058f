"""The whole movement: this site's own ledger plus every section's counted figures, by section and per case, in
the staff page, the public JSON, the case page and the embed; a sharp fall held for an organizer."""

from __future__ import annotations

import pytest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from sections.models import Section, Snapshot
from sections.services import movement, snapshots
from sections.services.documents import parse_json
from tests.sections.conftest import KHALED, NASSIMA, as_bytes, document

pytestmark = pytest.mark.django_db


def receive(section, figures, channel="push"):
    return snapshots.receive_figures(section.pk, parse_json(as_bytes(document(figures))), channel=channel)


@pytest.fixture
def hub(demo_campaign, case):
    """This site counted 10 signatures for Khaled Drareni; Brazil sent 40 and Portugal 7."""
    ledger.add_to_tallies([(TallyKey(case.pk, "signature", "online", "FR", timezone.localdate()), 10)])
    ledger.refresh_totals()
    brazil = Section.objects.create(name="Amnesty Brazil", countries=["BR"])
    portugal = Section.objects.create(name="Amnistia Portugal", countries=["PT"])
    receive(brazil, {KHALED: {"BR": {"signature": 40}}, NASSIMA: {"BR": {"letter": 3}}})
    receive(portugal, {KHALED: {"PT": {"signature": 5, "letter": 2}}})
    return brazil, portugal


def test_it_adds_this_site_and_every_section(hub):
    data = movement.refresh()
    assert data["total"] == 10 + 43 + 7
    assert data["own"]["total"] == 10
    assert data["cases"][KHALED] == {"total": 57, "by_kind": {"signature": 55, "letter": 2}}
    assert [(s["name"], s["total"]) for s in data["sections"]] == [("Amnesty Brazil", 43), ("Amnistia Portugal", 7)]


def test_a_sharp_fall_is_held_until_an_organizer_accepts_it(hub, settings):
    brazil, _portugal = hub
    settings.SECTIONS_HOLD_FALL_PERCENT = 10
    # 43 to 38: more than 10% down.
    assert receive(brazil, {KHALED: {"BR": {"signature": 35}}, NASSIMA: {"BR": {"letter": 3}}}) == "held"
    data = movement.refresh()
    assert (data["sections"][0]["total"], data["sections"][0]["held_total"]) == (43, 38)
    assert data["total"] == 60
    assert snapshots.accept_held(brazil.pk) is True
    assert snapshots.accept_held(brazil.pk) is False
    assert movement.refresh()["total"] == 55
    assert list(Snapshot.objects.filter(section=brazil).values_list("status", "total")) == [("current", 38)]


def test_held_figures_thrown_away_leave_the_counted_ones(hub):
    brazil, _portugal = hub
    assert receive(brazil, {KHALED: {"BR": {"signature": 1}}}) == "held"
    assert snapshots.discard_held(brazil.pk) is True
    assert movement.refresh()["sections"][0] == {**movement.refresh()["sections"][0], "total": 43, "held_total": None}


def test_a_small_fall_counts_at_once(hub):
    brazil, _portugal = hub
    assert receive(brazil, {KHALED: {"BR": {"signature": 39}}, NASSIMA: {"BR": {"letter": 3}}}) == "counted"
    assert movement.refresh()["sections"][0]["total"] == 42


def test_the_public_json_by_section_and_case(client, hub):
    movement.refresh()
    response = client.get("/api/v1/movement")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert data["version"] == 1 and data["total"] == 60
    assert data["sections"][0] == {"name": "127.0.0.1", "this_site": True, "total": 10, "stale": False}
    assert [s["name"] for s in data["sections"][1:]] == ["Amnesty Brazil", "Amnistia Portugal"]
    assert {c["key"]: c["total"] for c in data["cases"]} == {KHALED: 57, NASSIMA: 3}
    # Nothing about a section but its name, countries, figures and freshness.
    assert set(data["sections"][1]) == {"name", "countries", "total", "by_kind", "received_at", "stale"}


def test_with_a_warm_cache_the_json_and_the_staff_page_make_no_query_of_their_own(client, organizer_client, hub):
    from django.db import connection

    movement.refresh()
    client.get("/api/v1/movement")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/movement").status_code == 200
    assert len(queries) == 0
    organizer_client.get("/en/staff/sections/")
    with CaptureQueriesContext(connection) as queries:
        assert organizer_client.get("/en/staff/sections/").status_code == 200
    # Only the sign-in's own: the session, the user and their permissions.
    tables = {q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries if " FROM " in q["sql"]}
    sign_in = {"django_session", "auth_user", "auth_group", "auth_permission", "auth_user_user_permissions"}
    assert tables <= sign_in, tables


def test_the_case_page_and_the_embed_show_the_movements_total(client, hub, case):
    movement.refresh()
    page = client.get(case.get_absolute_url()).content.decode()
    assert f'data-movement-total="{KHALED}">57<' in page
    embed = client.get(f"/fr/embed/{case.campaign.slug}/{case.slug}/").content.decode()
    assert f'data-movement-total="{KHALED}">57' in embed


def test_a_site_that_follows_no_section_shows_no_movement(client, demo_campaign, case):
    assert movement.case_total(case) is None
    assert "data-movement-total" not in client.get(case.get_absolute_url()).content.decode()
    assert "data-movement-total" not in client.get(f"/en/embed/{case.campaign.slug}/{case.slug}/").content.decode()


def test_the_staff_page_shows_each_section_its_state_and_what_is_held(organizer_client, hub, settings):
    brazil, portugal = hub
    receive(brazil, {KHALED: {"BR": {"signature": 1}}})
    long_ago = timezone.now() - timezone.timedelta(days=2)
    Section.objects.filter(pk=portugal.pk).update(
        problem="invalid_json", problem_detail="JSONDecodeError", last_received_at=long_ago
    )
    movement.refresh()
    html = organizer_client.get("/en/staff/sections/").content.decode()
    assert f'data-section-total="{brazil.pk}">43<' in html
    assert f'data-held="{brazil.pk}"' in html
    assert 'data-problem="invalid_json"' in html and "not valid JSON" in html
    assert f'data-section="{portugal.pk}"' in html and 'data-state="stale"' in html
    assert html.count('data-state="stale"') == 1


def test_an_organizer_accepts_held_figures_from_the_staff_page(organizer_client, hub):
    brazil, _portugal = hub
    receive(brazil, {KHALED: {"BR": {"signature": 1}}})
    response = organizer_client.post(f"/en/staff/sections/{brazil.pk}/held/", {"decision": "accept"})
    assert response.status_code == 302
    assert Snapshot.objects.get(section=brazil).total == 1


def test_an_organizer_uploads_a_sections_csv(organizer_client, hub):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _brazil, portugal = hub
    upload = SimpleUploadedFile("portugal.csv", f"case,kind,country,count\n{KHALED},letter,PT,9\n".encode())
    response = organizer_client.post("/en/staff/sections/upload/", {"section": portugal.pk, "file": upload})
    assert response.status_code == 302
    snapshot = Snapshot.objects.get(section=portugal)
    assert (snapshot.total, snapshot.channel, snapshot.uploaded_by.username) == (9, "upload", "organizer")
    bad = SimpleUploadedFile("bad.csv", f"case,kind,country,count,name\n{KHALED},letter,PT,9,Ana\n".encode())
    response = organizer_client.post("/en/staff/sections/upload/", {"section": portugal.pk, "file": bad}, follow=True)
    assert "was refused" in response.content.decode()
    assert Snapshot.objects.get(section=portugal).total == 9


def test_moderators_and_visitors_get_no_sections_page(moderator_client, hub):
    from django.test import Client

    assert moderator_client.get("/en/staff/sections/").status_code == 403
    assert Client().get("/en/staff/sections/").status_code == 302
