"""python manage.py seed_demo"""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import dateformat, timezone

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


def test_every_date_the_demo_shows_agrees_with_a_campaign_opening_today(client, settings):
    """In TIME_ZONE: the campaign opens at midnight today and is open until the last day of its 42, the good
    news of a case is dated the day it opened (never before, never in the future), and no outcome text carries
    a year of its own that would say otherwise."""
    settings.TIME_ZONE = "America/Santiago"
    call_command("seed_demo", verbosity=0)
    campaign = Campaign.objects.get()
    today = timezone.localdate()
    opens = timezone.localtime(campaign.opens_at)
    assert (opens.date(), opens.time()) == (today, datetime.time())
    last_day = today + datetime.timedelta(days=41)
    assert timezone.localtime(campaign.closes_at) == timezone.localtime(campaign.opens_at) + datetime.timedelta(days=42)
    assert f"Open until {dateformat.format(last_day, 'N j, Y')}." in client.get("/en/").content.decode()
    good_news = Case.objects.filter(status=Case.Status.GOOD_NEWS)
    assert good_news.count() == 5
    assert {case.outcome_date for case in good_news} == {today, None}  # None: the real date is not known
    for case in good_news:
        for language in settings.AVAILABLE_LANGUAGES:
            outcome = getattr(case, f"outcome_{language}")
            assert outcome and not re.search(r"\b(19|20)\d\d\b", outcome), (case.slug, language, outcome)
    assert "2020" not in campaign.intro_en  # the real edition's dates would contradict the demo's


def test_the_real_dates_keep_the_real_good_news_dates():
    call_command("seed_demo", "--historical-dates", verbosity=0)
    assert Case.objects.get(slug="khaled-drareni").outcome_date == datetime.date(2021, 2, 19)
    assert Case.objects.get(slug="nassima-al-sada").outcome_date == datetime.date(2021, 6, 27)


def test_each_case_is_written_in_every_language_plume_ships(settings):
    call_command("seed_demo", verbosity=0)
    campaign = Campaign.objects.get()
    assert campaign.name_es == "Escribe por los Derechos 2020" and campaign.hashtag == "#W4R20"
    arabic = re.compile(r"^[\u0600-\u06ff\s\d]+$")
    for case in Case.objects.all():
        for language in settings.AVAILABLE_LANGUAGES:
            for field in ("name", "role", "summary", "ask", "authority", "authority_address"):
                assert getattr(case, f"{field}_{language}"), (case.slug, field, language)
        # Arabic pages show the names in Arabic script; the others as the person writes it.
        assert arabic.match(case.name_ar), case.name_ar
        assert case.name_es == case.name_fr == case.name_en
        # The postal address in each language's words (the country's name at least).
        assert case.authority_address_en not in (case.authority_address_fr, case.authority_address_ar)
        assert case.authority_language in settings.AVAILABLE_LANGUAGES
    drareni = Case.objects.get(slug="khaled-drareni")
    assert drareni.summary_es.startswith("Periodista que cubrió las protestas")
    assert drareni.authority_address_fr.endswith("Algérie")


ARTICLES = {"en": r"the ", "fr": r"(le |la |l'|les )", "es": r"(el |la |los |las )"}


def test_each_authority_is_written_with_its_article_as_it_reads_after_to():
    """Sentences say "handed to the President of ...": the title carries its article in the languages that need
    one (Arabic's construct state does not)."""
    call_command("seed_demo", verbosity=0)
    for case in Case.objects.all():
        for language, article in ARTICLES.items():
            assert re.match(article, getattr(case, f"authority_{language}")), (case.slug, language)
