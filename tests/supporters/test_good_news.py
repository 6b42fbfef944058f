"""Good news closes the ask: recording an outcome asks whether to close the petition or replace its ask, and a
closed petition takes no signature while letters go on."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaign.models import Case
from petitions.models import Signature
from tests.petitions.conftest import form_data, sign_url

pytestmark = pytest.mark.django_db


def admin_form(client, case) -> dict:
    """The case's change form as the admin shows it, as data to post back."""
    from django import forms

    response = client.get(f"/admin/campaign/case/{case.pk}/change/")
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.FileField):
            continue
        value = form[name].value()
        if value is None:
            continue
        data[name] = value
    return {k: v for k, v in data.items() if v not in (None, False)}


@pytest.fixture
def open_case(demo_campaign) -> Case:
    """A case without good news yet."""
    return demo_campaign.cases.filter(status=Case.Status.ACTIVE).first()


def test_recording_good_news_asks_what_becomes_of_the_petition(superuser, client, open_case):
    client.force_login(superuser)
    data = {**admin_form(client, open_case), "status": "good_news", "outcome_en": "Released on 1 July."}
    response = client.post(f"/admin/campaign/case/{open_case.pk}/change/", data)
    assert response.status_code == 200
    assert "close the petition, or replace its ask" in response.content.decode()
    open_case.refresh_from_db()
    assert open_case.status == Case.Status.ACTIVE

    response = client.post(f"/admin/campaign/case/{open_case.pk}/change/", {**data, "after_outcome": "replace"})
    assert "Write the new ask above first" in response.content.decode()

    response = client.post(f"/admin/campaign/case/{open_case.pk}/change/", {**data, "after_outcome": "close"})
    assert response.status_code == 302
    open_case.refresh_from_db()
    assert open_case.status == Case.Status.GOOD_NEWS and open_case.petition_closed_at is not None
    assert not open_case.petition_is_open() and open_case.is_open()


def test_replacing_the_ask_keeps_the_petition_open(superuser, client, open_case):
    client.force_login(superuser)
    data = {
        **admin_form(client, open_case),
        "status": "good_news",
        "outcome_en": "Released on 1 July.",
        "ask_en": "Drop the travel ban.",
        "after_outcome": "replace",
    }
    assert client.post(f"/admin/campaign/case/{open_case.pk}/change/", data).status_code == 302
    open_case.refresh_from_db()
    assert open_case.petition_is_open() and open_case.ask_en == "Drop the travel ban."


def test_a_closed_petition_takes_no_signature_and_says_so(client, open_case):
    open_case.petition_closed_at = timezone.now()
    open_case.save()
    page = client.get(open_case.get_absolute_url()).content.decode()
    assert "This petition is closed" in page
    assert 'name="email"' not in page.split('id="petition"', 1)[1].split("</section>", 1)[0]
    response = client.post(sign_url(open_case), form_data())
    assert response.status_code == 403
    assert not Signature.objects.exists()
    # Letters go on.
    assert 'id="write-a-letter"' in page
