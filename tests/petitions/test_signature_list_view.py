"""The list of signatures handed to the authority: names and countries, never emails; organizers only."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils.html import escape

from petitions import services

from .conftest import make_signature, url


@pytest.fixture
def signed(case):
    rows = [
        ("Ana Lima", "ana@example.org", "FR"),
        ('=HYPERLINK("http://evil","x")', "evil@example.org", "FR"),
        ("+33 trick", "plus@example.org", "DZ"),
        ("خالد", "khalid@example.org", "DZ"),
        ("<script>alert(1)</script>", "xss@example.org", "FR"),
    ]
    for name, email, country in rows:
        services.confirm_signature(make_signature(case, email=email, name=name, country=country).pk)
    make_signature(case, email="pending@example.org", name="Pending Person")
    return rows


def csv_url(case, **query):
    base = url("petitions:signature_list_csv", campaign=case.campaign.slug, case=case.slug)
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_it_streams_names_and_countries_with_formulas_neutralised(organizer_client, case, signed):
    response = organizer_client.get(csv_url(case))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["name", "country", "country_name"]
    names = [r[0] for r in rows[1:]]
    assert "Ana Lima" in names and "خالد" in names
    assert '\'=HYPERLINK("http://evil","x")' in names
    assert "'+33 trick" in names
    assert "Pending Person" not in names
    assert "@" not in body


def test_it_filters_by_country(organizer_client, case, signed):
    body = b"".join(organizer_client.get(csv_url(case, country="dz")).streaming_content).decode("utf-8-sig")
    assert {r[1] for r in list(csv.reader(io.StringIO(body)))[1:]} == {"DZ"}


def test_it_prints_the_petition_text_total_and_escaped_names(organizer_client, case, signed):
    response = organizer_client.get(url("petitions:signature_list", campaign=case.campaign.slug, case=case.slug))
    html = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert escape(case.ask) in html
    assert escape(case.authority) in html
    assert "5 signatures" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "@example.org" not in html


def test_it_keeps_moderators_and_visitors_out(client, moderator_client, case, signed):
    assert moderator_client.get(csv_url(case)).status_code == 403
    client.logout()
    assert client.get(csv_url(case)).status_code == 302


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6", "'+33 6"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ana = Lima", "Ana = Lima"),
        ("", ""),
    ],
)
def test_it_neutralises_cells_a_spreadsheet_would_run(cell, safe):
    assert services.spreadsheet_safe(cell) == safe
