"""The authority's title reads right in every sentence that names it, in every language: "handed to the
President of ...", never "remis à Président ..." nor "à le Président" (French and Spanish contract "à le" and
"a el", so their sentences name the authority after a colon: "destinataire : le Président ...")."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.utils import translation

from campaign.models import Case

pytestmark = pytest.mark.django_db

# Every sentence of the interface that embeds the authority (`grep -rn authority templates/`).
SENTENCES = [
    "To: %(authority)s",
    "Your name and country will be handed to %(authority)s with all the other signatures; your email address never is.",
    "Thank you for signing the petition for %(case)s to %(authority)s. To confirm your signature, open this link "
    "and press the button:",
]
# What must never come right before a title that starts with its article ("à le", "a el"). English and Arabic
# need nothing more than the title itself written with its article (the demo's: test_seed_demo.py).
WRONG_BEFORE = {"fr": re.compile(r"\b(à|de)\s*$", re.I), "es": re.compile(r"\b(a|de)\s*$", re.I)}


@pytest.mark.parametrize("language", ["en", "fr", "es", "ar"])
def test_every_sentence_names_every_demo_authority_as_the_language_says_it(language):
    call_command("seed_demo", verbosity=0)
    wrong = []
    with translation.override(language):
        for case in Case.objects.all():
            for sentence in SENTENCES:
                # Translated: the sentence is still the interface's (a changed one must be listed here anew).
                assert language == "en" or translation.gettext(sentence) != sentence, sentence
                text = translation.gettext(sentence) % {"case": case.name, "authority": case.authority}
                before = text.split(case.authority)[0]
                if language in WRONG_BEFORE and WRONG_BEFORE[language].search(before):
                    wrong.append((case.slug, text))
    assert wrong == []


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "handed to the President of the People&#x27;s Democratic Republic of Algeria with all"),
        ("fr", "à leur destinataire : le Président de la République algérienne démocratique et populaire."),
        ("es", "a su destinatario: el presidente de la República Argelina Democrática y Popular."),
        ("ar", "رئيس الجمهورية الجزائرية الديمقراطية الشعبية"),
    ],
)
def test_the_case_page_says_to_whom_the_petition_goes(client, case, language, shown):
    html = client.get(f"/{language}{case.get_absolute_url()[3:]}").content.decode()
    assert shown in html
