"""Solidarity posts: counted once per visitor, case and day without keeping who, folded into the ledger by the
periodic task, labelled as posts started here; Mastodon asks for the server."""

from __future__ import annotations

import datetime
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaign.lib import ledger
from campaign.models import ActionKind, Tally
from supporters.services import posts

pytestmark = pytest.mark.django_db


def post_url(case, network: str) -> str:
    return reverse("supporters:post", kwargs={"campaign": case.campaign.slug, "case": case.slug, "network": network})


def visitor(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def test_it_opens_the_networks_compose_page_with_the_suggested_text_and_hashtag(case):
    case.campaign.hashtag = "#W4R20"
    case.campaign.save()
    case.post_text = "Free Khaled Drareni, journalist!"
    case.save()
    response = visitor("203.0.113.5").get(post_url(case, "x"))
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith("https://x.com/intent/post?text=")
    text = unquote(target.split("text=", 1)[1])
    assert text.startswith("Free Khaled Drareni, journalist! #W4R20 ")
    # The link in the post lands on the case and counts signatures for the network it was posted on.
    assert text.endswith("/en/petitions/write-for-rights-2020/khaled-drareni/via/x/")


def test_it_counts_once_per_visitor_case_and_day_and_folds_into_the_ledger(case, demo_campaign):
    other_case = demo_campaign.cases.exclude(pk=case.pk).first()
    ana, bob = visitor("203.0.113.5"), visitor("198.51.100.7")
    for network in ("x", "bluesky", "telegram", "whatsapp"):
        ana.get(post_url(case, network))
    bob.get(post_url(case, "x"))
    ana.get(post_url(other_case, "x"))
    # Another address in the same IPv6 /64 is the same visitor.
    visitor("2001:db8::1").get(post_url(case, "x"))
    visitor("2001:db8::2").get(post_url(case, "bluesky"))
    assert not Tally.objects.filter(kind=ActionKind.POST).exists()  # nothing written per request

    assert posts.fold_posts() == 4
    tallies = {t.case_id: t.count for t in Tally.objects.filter(kind=ActionKind.POST)}
    assert tallies == {case.pk: 3, other_case.pk: 1}
    assert ledger.totals()["cases"][case.pk]["by_kind"]["post"] == 3
    assert posts.fold_posts() == 0  # folded once

    # The same visitor the next day counts again.
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    key = posts.visitor_key(ana.get(post_url(case, "x")).wsgi_request, case, tomorrow)
    assert cache.get(key) is None


def test_it_keeps_no_address_only_a_keyed_hash_that_expires(case, settings):
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    visitor("203.0.113.5").get(post_url(case, "x"))
    keys = [k.decode() for k in client.keys("*post-seen*")]
    assert len(keys) == 1 and "203.0.113" not in keys[0]
    assert 0 < client.ttl(keys[0]) <= posts.SEEN_SECONDS


def test_a_post_for_a_closed_case_or_an_unknown_network_counts_nothing(case):
    assert visitor("203.0.113.5").get(post_url(case, "myspace")).status_code == 404
    case.closes_at = timezone.now()
    case.save()
    response = visitor("203.0.113.5").get(post_url(case, "x"))
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    assert posts.fold_posts() == 0


def test_posts_are_labelled_as_started_here_on_the_dashboard(organizer_client, case):
    visitor("203.0.113.5").get(post_url(case, "x"))
    posts.fold_posts()
    html = organizer_client.get(reverse("organizers:dashboard")).content.decode()
    assert "Solidarity post started here" in html


def test_a_post_folded_while_the_database_fails_is_given_back(case, monkeypatch):
    visitor("203.0.113.5").get(post_url(case, "x"))

    def broken(counts):
        list(counts)
        raise RuntimeError("database gone")

    monkeypatch.setattr(ledger, "add_to_tallies", broken)
    with pytest.raises(RuntimeError):
        posts.fold_posts()
    monkeypatch.undo()
    assert posts.fold_posts() == 1


def mastodon_url(case, **params) -> str:
    from urllib.parse import urlencode

    path = reverse("supporters:mastodon", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    return f"{path}?{urlencode(params)}" if params else path


def test_mastodon_asks_for_the_server_then_links_to_its_share_page(case):
    client = visitor("203.0.113.5")
    response = client.get(post_url(case, "mastodon"))
    assert response.status_code == 302
    form = client.get(response["Location"])
    assert form.status_code == 200 and "Your Mastodon server" in form.content.decode()
    page = client.get(mastodon_url(case, purpose="post", instance="@ana@Mastodon.Social/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'href="https://mastodon.social/share?text=' in html
    assert posts.fold_posts() == 1


@pytest.mark.parametrize(
    "instance",
    ["", "not a server", "javascript:alert(1)", 'evil.com"><script>', "a" * 300, "localhost", "1.2.3.4"],
)
def test_mastodon_refuses_what_is_not_a_server_name_with_a_clear_message(case, instance):
    page = visitor("203.0.113.5").get(mastodon_url(case, purpose="post", instance=instance))
    html = page.content.decode()
    assert page.status_code == 400
    assert "Write the name of a Mastodon server" in html or "This field is required" in html
    assert "<script>" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert posts.fold_posts() == 0
