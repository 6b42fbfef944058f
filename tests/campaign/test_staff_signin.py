"""Staff sign-in: failed attempts are throttled (django-axes), per user name and network."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

LOGIN = "/admin/login/?next=/admin/"


def sign_in(client, username: str, password: str, address: str = "203.0.113.9", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_it_signs_staff_in_with_the_right_password(client, moderator):
    response = sign_in(client, "moderator", "correct horse battery")
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_it_locks_a_user_name_out_after_failed_sign_ins_and_says_so(client, moderator):
    statuses = [sign_in(client, "moderator", f"guess {n}").status_code for n in range(2)]
    assert statuses == [200, 200]  # the form again, with Django's "Please enter the correct username..."

    response = sign_in(client, "moderator", "guess 3")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed sign-ins" in html
    assert "paused for 60 minutes" in html

    # Even the right password is refused now, and nobody is signed in.
    response = sign_in(client, "moderator", "correct horse battery")
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_the_lockout_holds_for_every_address_of_an_ipv6_network(client, moderator):
    for n in range(3):
        sign_in(client, "moderator", "guess", address=f"2001:db8:5:5::{n + 1}")
    assert sign_in(client, "moderator", "correct horse battery", address="2001:db8:5:5::99").status_code == 429


def test_the_lockout_is_for_that_user_name_from_that_network_only(client, moderator, organizer):
    for _ in range(3):
        sign_in(client, "moderator", "guess")
    # Someone guessing from elsewhere cannot lock the moderators out of their own work.
    assert sign_in(client, "moderator", "correct horse battery", address="198.51.100.20").status_code == 302
    client.logout()
    assert sign_in(client, "organizer", "correct horse battery").status_code == 302


def test_a_successful_sign_in_clears_the_failures(client, moderator):
    for _ in range(2):
        sign_in(client, "moderator", "guess")
    assert sign_in(client, "moderator", "correct horse battery").status_code == 302
    client.logout()
    statuses = [sign_in(client, "moderator", "guess").status_code for _ in range(2)]
    assert statuses == [200, 200]


def test_the_lockout_page_speaks_the_staff_members_language(client, moderator):
    for _ in range(3):
        response = sign_in(client, "moderator", "guess", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 429
    assert "Trop d\N{RIGHT SINGLE QUOTATION MARK}échecs de connexion" in response.content.decode()


def test_an_administrator_lifts_a_lockout(client, moderator):
    for _ in range(3):
        sign_in(client, "moderator", "guess")
    call_command("axes_reset_username", "moderator", verbosity=0)
    assert sign_in(client, "moderator", "correct horse battery").status_code == 302


def test_it_keeps_no_record_of_successful_sign_ins(client, moderator):
    from axes.models import AccessAttempt, AccessLog

    sign_in(client, "moderator", "correct horse battery")
    assert not AccessLog.objects.exists() and not AccessAttempt.objects.exists()


def test_the_demo_staff_need_the_demo_key_as_well_as_debug(db, settings):
    """The demo users' password is published: never on a site with a real key, even with DEBUG on."""
    settings.DEBUG = True
    settings.RUNS_WITH_DEMO_KEY = False
    with pytest.raises(CommandError, match="no SECRET_KEY"):
        call_command("seed_demo", "--with-demo-users", verbosity=0)


def test_the_hourly_task_forgets_failed_sign_ins_once_their_lockout_is_over(client, moderator, organizer):
    import datetime

    from axes.models import AccessAttempt
    from django.utils import timezone

    from campaign import tasks

    sign_in(client, "moderator", "guess")
    sign_in(client, "organizer", "guess")
    assert AccessAttempt.objects.count() == 2
    # The organizer's attempt is older than the lockout; the moderator's is still running.
    AccessAttempt.objects.filter(username="organizer").update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=61)
    )
    assert tasks.forget_expired_signin_attempts() == 1
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["moderator"]
