"""The Spanish journey end to end in Chromium: read a case in Spanish, sign, get the confirmation mail in Spanish
from a real SMTP server, confirm, and see the count move, in Spanish words and numbers."""

from __future__ import annotations

import re

from petitions.models import Signature
from petitions.services import confirmations, counting
from tests.conftest import Mailbox


def test_a_spanish_speaker_signs_confirms_and_sees_the_count_move(
    live_server, browser, demo_campaign, smtp_server, settings
):
    settings.PETITION_MIN_SECONDS_TO_FILL = 1
    context = browser.new_context(locale="es-ES", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        # The browser asks for Spanish: the site answers in Spanish from its root.
        page.goto(live_server.url + "/")
        page.wait_for_url("**/es/")
        assert page.get_by_role("heading", level=1).inner_text() == "Escribe por los Derechos 2020"
        page.get_by_role("link", name="Gustavo Gatica").click()
        page.wait_for_url("**/es/write-for-rights-2020/gustavo-gatica/")
        ask = page.locator(".plume-ask-text")
        assert ask.inner_text() == "Lleve ante la justicia a los responsables, incluidos los mandos."
        assert page.locator(".plume-counts-total").inner_text() == "0 acciones hasta ahora"

        petition = page.locator("#petition")
        assert "a su destinatario: el fiscal nacional de Chile." in petition.inner_text()
        petition.get_by_label("Tu nombre").fill("Camila Vallejo")
        petition.get_by_label("Tu correo electrónico").fill("camila@example.cl")
        petition.get_by_label("Tu país").select_option("CL")
        page.wait_for_timeout(1200)  # a person takes a moment to fill the form in
        petition.get_by_role("button", name="Firmar la petición").click()
        page.get_by_role("heading", name="Revisa tu bandeja de entrada").wait_for()
        assert Signature.objects.get().language == "es"

        assert confirmations.send_confirmations().sent == 1
        mail = smtp_server.wait_for(1)[0]
        assert mail["Subject"] == "Confirma tu firma por Gustavo Gatica"
        text = Mailbox.text_of(mail)
        assert "Gracias por firmar la petición por Gustavo Gatica (destinatario: el fiscal nacional de Chile)." in text
        assert "El enlace funciona durante 7 días." in text
        link = re.search(r"https?://\S+?(/es/petitions/confirm/\S+/)", text).group(1)

        page.goto(live_server.url + link)
        page.get_by_role("button", name="Confirmar mi firma").click()
        page.get_by_role("heading", name="Gracias: tu firma está confirmada").wait_for()

        assert counting.count_signatures() == 1
        page.goto(live_server.url + "/es/write-for-rights-2020/gustavo-gatica/")
        assert page.locator(".plume-counts-total").inner_text() == "1 acción hasta ahora"
        assert page.locator("[data-kind=signature]").inner_text() == "1 firma"
        assert page.locator("[data-kind=letter]").inner_text() == "0 cartas"
    finally:
        context.close()
