"""python manage.py seed_demo"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from campaign.models import Campaign, Case

pytestmark = pytest.mark.django_db


def test_it_loads_the_campaign_and_its_ten_cases_once(settings):
    call_command("seed_demo", verbosity=0)
    first = Campaign.objects.get()
    call_command("seed_demo", verbosity=0)
    assert Campaign.objects.count() == 1
    assert Case.objects.count() == 10
    campaign = Campaign.objects.get()
    assert (campaign.opens_at, campaign.closes_at) == (first.opens_at, first.closes_at)
    assert campaign.is_open()
    drareni = Case.objects.get(slug="khaled-drareni")
    assert drareni.country.code == "DZ"
    assert drareni.summary_fr.startswith("Journaliste")
    assert drareni.status == Case.Status.GOOD_NEWS


def test_it_keeps_the_real_dates_when_asked():
    call_command("seed_demo", "--historical-dates", verbosity=0)
    campaign = Campaign.objects.get()
    assert (campaign.opens_at.date().isoformat(), campaign.closes_at.date().isoformat()) == ("2020-11-20", "2021-01-01")
    assert not campaign.is_open()


def test_it_creates_demo_staff_only_in_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only created when DEBUG is on"):
        call_command("seed_demo", "--with-demo-users", verbosity=0)
    assert not User.objects.exists()

    settings.DEBUG = True
    call_command("seed_demo", "--with-demo-users", verbosity=0)
    moderator = User.objects.get(username="moderator")
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.values_list("name", flat=True)) == ["Moderators"]
