"""The page not found is the site's own, in its layout and the visitor's language, with DEBUG on too (the demo,
`make run`): Django's technical 404 page is for the URLs it cannot route, never for a mistyped case."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/en/no-such-page/", "Page not found"),
        ("/en/write-for-rights-2020/nobody/", "Page not found"),
        ("/es/write-for-rights-2020/nadie/", "Página no encontrada"),
        ("/fr/no-such-campaign/khaled-drareni/", "Page introuvable"),
        ("/ar/petitions/nothing/", "الصفحة غير موجودة"),
    ],
)
def test_an_unknown_page_gets_the_site_s_own_404_in_its_language(client, demo_campaign, settings, debug, path, heading):
    settings.DEBUG = debug
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert f"<h1>{heading}</h1>" in html
    assert f'<html lang="{path[1:3]}"' in html
    assert 'class="plume-header"' in html  # the site's layout
    assert "URLconf" not in html and "Django" not in html  # not the technical page


def test_a_draft_campaign_is_not_found_either(client, demo_campaign, settings):
    settings.DEBUG = True
    demo_campaign.status = "draft"
    demo_campaign.save()
    response = client.get("/en/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()
