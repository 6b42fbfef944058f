"""Who runs the site and where to write: in every page's footer, the privacy notice and every mail."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.utils import translation

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _organisation(settings):
    settings.ORGANISATION_NAME = "Amnesty International France"
    settings.ORGANISATION_CONTACT = "contact@amnesty.example"
    settings.PRIVACY_CONTACT = "dpo@amnesty.example"


def test_every_page_names_the_organisation_and_its_contacts(client, case):
    for path in ("/en/", case.get_absolute_url(), "/en/privacy/", "/en/supporters/your-data/"):
        footer = client.get(path).content.decode().split("<footer", 1)[1]
        assert "Amnesty International France" in footer and "mailto:contact@amnesty.example" in footer, path
        assert "/en/supporters/your-data/" in footer


def test_the_privacy_notice_names_who_decides_and_where_to_write(client):
    html = client.get("/fr/privacy/").content.decode()
    assert "Amnesty International France" in html and "mailto:dpo@amnesty.example" in html
    assert "/fr/supporters/your-data/" in html.split("<main", 1)[1]


def test_every_mail_template_carries_the_footer():
    """Every mail Plume sends (each app's mail templates) names the organisation and the privacy contact."""
    bases = sorted(
        {
            str(path.relative_to(ROOT / "templates"))[: -len(".txt")]
            for path in (ROOT / "templates").glob("*/mail/*.txt")
            if not path.name.endswith("_subject.txt")
        }
    )
    assert len(bases) >= 7
    for base in bases:
        for suffix, footer in ((".txt", "mail/_footer.txt"), (".html", "mail/_footer.html")):
            source = (ROOT / "templates" / f"{base}{suffix}").read_text()
            assert f'{{% include "{footer}" %}}' in source, base + suffix


def test_the_footer_reads_in_the_mails_language():
    with translation.override("en"):
        text = render_to_string("mail/_footer.txt")
        html = render_to_string("mail/_footer.html")
    assert "Sent by Amnesty International France." in text and "dpo@amnesty.example" in text
    assert "/en/supporters/your-data/" in text
    assert 'href="mailto:dpo@amnesty.example"' in html


def test_the_deploy_check_warns_about_the_demos_organisation(settings):
    from django.core.checks import run_checks

    assert "supporters.W002" not in {m.id for m in run_checks(include_deployment_checks=True)}
    settings.ORGANISATION_NAME = "Plume demo"
    assert "supporters.W002" in {m.id for m in run_checks(include_deployment_checks=True)}
