"""Local groups: an organizer creates a group and its members' accounts; a member signs in on the groups' page,
reports the group's events and sees its own totals and nothing else; reports count once an organizer approves
them, and each group's totals are on the dashboard and in the exports."""

from __future__ import annotations

import csv
import re

import pytest
from django.test import Client
from django.utils import timezone

from campaign.models import ExportJob, LocalGroup, OfflineReport, Tally
from organizers import local_groups, offline_reports
from organizers.exports import base as exports

pytestmark = pytest.mark.django_db

PASSWORD = {"new_password1": "a long passphrase 42", "new_password2": "a long passphrase 42"}


@pytest.fixture
def school(db):
    return LocalGroup.objects.create(name="Lycée Victor Hugo", slug="lycee-victor-hugo", country="FR")


def member_of(group: LocalGroup, username: str = "teacher") -> Client:
    """A member's browser, signed in through the groups' own page with the password they chose."""
    _user, path = local_groups.create_member(group, username=username, email=f"{username}@example.org")
    client = Client()
    page = client.get(path, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else path
    response = client.post(form_url, PASSWORD)
    assert response.status_code == 302, response.content.decode()[:2000]
    signed_in = client.post("/en/groups/sign-in/", {"username": username, "password": PASSWORD["new_password1"]})
    assert signed_in.status_code == 302
    return client


def report(client: Client, group: LocalGroup, case, count: int = 120):
    return client.post(
        f"/en/groups/{group.slug}/",
        {
            "case": case.pk,
            "kind": "letter",
            "count": str(count),
            "day": timezone.localdate().isoformat(),
            "country": "FR",
            "event_name": "Write-a-thon in the library",
            "note": "",
        },
    )


def test_an_organizer_creates_a_members_account_and_gets_a_link_shown_once(organizer_client, school):
    response = organizer_client.post(
        f"/admin/campaign/localgroup/{school.pk}/members/", {"add": "1", "username": "teacher", "name": "Ana Lima"}
    )
    assert response.status_code == 200
    link = re.search(r'value="(http://testserver/en/groups/password/[^"]+)"', response.content.decode()).group(1)
    user = school.members.get()
    assert (user.username, user.first_name, user.is_staff) == ("teacher", "Ana", False)
    assert not user.has_usable_password()
    # The link works once.
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    assert client.post(set_url, PASSWORD).status_code == 302
    assert "no longer works" in Client().get(link, follow=True).content.decode()


def test_a_member_reports_an_event_that_counts_once_approved(school, case, organizer):
    member = member_of(school)
    assert member.get("/en/groups/").url == f"/en/groups/{school.slug}/"
    response = report(member, school, case)
    assert response.status_code == 302
    sent = OfflineReport.objects.get()
    assert (sent.status, sent.channel, sent.local_group, sent.entered_by.username) == (
        "pending",
        "local_group",
        school,
        "teacher",
    )
    assert not Tally.objects.filter(source="event").exists()
    page = member.get(f"/en/groups/{school.slug}/").content.decode()
    assert f'data-group-total="{school.slug}">0<' in page and "1 report waits for an organizer" in page

    offline_reports.approve_offline_reports([sent.pk], decided_by=organizer)
    page = member.get(f"/en/groups/{school.slug}/").content.decode()
    assert f'data-group-total="{school.slug}">120<' in page
    assert f'data-report="{sent.pk}" data-status="approved"' in page


def test_a_member_sees_their_group_and_nothing_else(school, case):
    other = LocalGroup.objects.create(name="Amnesty Lyon", slug="amnesty-lyon")
    member = member_of(school)
    assert member.get(f"/en/groups/{other.slug}/").status_code == 404
    assert report(member, other, case).status_code == 404
    assert member.get("/en/staff/").status_code == 403
    assert member.get("/en/staff/sections/").status_code == 403
    assert member.get("/admin/").status_code == 302  # the admin's sign-in: members are not staff
    school.is_active = False
    school.save()
    assert member.get(f"/en/groups/{school.slug}/").status_code == 404


def test_a_visitor_is_sent_to_the_groups_sign_in(school):
    response = Client().get(f"/en/groups/{school.slug}/")
    assert response.status_code == 302 and response.url.startswith("/en/groups/sign-in/")
    assert Client().get("/ar/groups/sign-in/").status_code == 200


def test_a_members_report_with_impossible_figures_is_refused_with_a_message(school, case):
    member = member_of(school)
    response = report(member, school, case, count=-3)
    assert response.status_code == 400
    assert not OfflineReport.objects.exists()


def test_organizers_approve_and_reject_in_the_admin(organizer_client, school, case):
    member = member_of(school)
    report(member, school, case, count=10)
    report(member, school, case, count=20)
    first, second = OfflineReport.objects.order_by("pk")
    response = organizer_client.post(
        "/admin/campaign/offlinereport/", {"action": "approve", "_selected_action": [first.pk]}, follow=True
    )
    assert "1 of 1 reports approved" in response.content.decode()
    organizer_client.post("/admin/campaign/offlinereport/", {"action": "reject", "_selected_action": [second.pk]})
    assert list(OfflineReport.objects.order_by("pk").values_list("status", flat=True)) == ["approved", "rejected"]
    assert sum(Tally.objects.filter(source="event").values_list("count", flat=True)) == 10
    pending = organizer_client.get("/admin/campaign/offlinereport/?status__exact=pending")
    assert pending.status_code == 200


def test_each_groups_totals_are_on_the_dashboard_and_in_the_export(organizer_client, organizer, school, case):
    member = member_of(school)
    report(member, school, case, count=75)
    offline_reports.approve_offline_reports(list(OfflineReport.objects.values_list("pk", flat=True)), decided_by=None)
    report(member, school, case, count=5)  # waits
    page = organizer_client.get("/en/staff/").content.decode()
    assert f'data-group-total="{school.slug}">75<' in page
    assert 'data-dashboard="pending-reports"' in page
    job = exports.run_export(ExportJob.objects.create(requested_by=organizer, kind="by_group", format="csv").pk)
    rows = list(csv.reader(exports.export_path(job).read_text(encoding="utf-8-sig").splitlines()))
    assert rows == [
        ["Local group", "Campaign", "Case", "Kind of action", "Count"],
        ["Lycée Victor Hugo", case.campaign.name, case.name, "Letter", "75"],
    ]
