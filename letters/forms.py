"""The letter form on the case page, and the moderators' action form in the admin."""

from __future__ import annotations

import unicodedata

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout, Submit
from django import forms
from django.conf import settings
from django.contrib.admin.helpers import ActionForm
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaign.forms import CountryChoiceField
from campaign.lib.abuse import HumanCheckFormMixin
from campaign.lib.text import bidi_controls_in, without_bidi_controls
from campaign.models import Case

from .images import clean_letter_image
from .models import LETTER_LANGUAGES, Letter, RejectionReason


class LetterForm(HumanCheckFormMixin, forms.Form):
    addressed_to = forms.ChoiceField(
        label=_("Write to"),
        choices=Letter.AddressedTo.choices,
        initial=Letter.AddressedTo.PERSON,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("Your message"),
        # dir=auto: a message in French typed on the Arabic page (or the reverse) reads the right way round.
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=_("Words of hope and solidarity. Please do not write about politics or give contact details."),
    )
    language = forms.ChoiceField(label=_("Language you write in"), choices=LETTER_LANGUAGES)
    first_name = forms.CharField(
        label=_("Your first name"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "dir": "auto"}),
    )
    country = CountryChoiceField(label=_("Your country"))
    image = forms.FileField(
        label=_("A drawing or a photo of your card (optional)"),
        required=False,
        help_text=_("JPEG, PNG or WebP. Photos are cleaned of their hidden data, such as where they were taken."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    writer_email = forms.EmailField(
        label=_("Your email (optional)"),
        required=False,
        max_length=254,
        help_text=_("Only to tell you when your message reaches the family. We delete it once you are told."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    writer_consent = forms.BooleanField(label=_("Yes, tell me by email when my message is delivered"), required=False)

    def __init__(self, *args, case: Case | None = None, **kwargs) -> None:
        # The petition form shares the case page: its own ids keep labels pointing at the right fields.
        kwargs.setdefault("auto_id", "letter_%s")
        super().__init__(*args, **kwargs)
        max_chars = settings.LETTERS_MAX_CHARS
        # maxlength stops typing at the limit; data-letter-counter lets static/js/letters.js show what is left.
        self.fields["text"].widget.attrs.update({"maxlength": str(max_chars), "data-letter-counter": str(max_chars)})
        language = (kwargs.get("initial") or {}).get("language")
        if language:
            self.fields["language"].initial = language
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.attrs = {"enctype": "multipart/form-data"}
        if case is not None:
            self.helper.form_action = reverse(
                "letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug}
            )
        self.helper.layout = Layout(
            Field("addressed_to"),
            Field("text"),
            HTML('{% include "letters/_text_counter.html" %}'),
            Field("language"),
            Div(
                Div(Field("first_name"), css_class="col-md-6"),
                Div(Field("country"), css_class="col-md-6"),
                css_class="row",
            ),
            Field("image"),
            Field("writer_email"),
            Field("writer_consent"),
            # Hidden from people by CSS and from screen readers; bots fill it in.
            Div(Field("website"), css_class="plume-hp", aria_hidden="true"),
            Field("started"),
            HTML('{% include "letters/_moderation_notice.html" %}'),
            Submit("send", _("Send my message"), css_class="btn-dark btn-lg"),
        )

    @property
    def min_seconds_to_fill(self) -> int:  # read from settings so a benchmark or a demo can change it
        return settings.LETTERS_MIN_SECONDS_TO_FILL

    def clean_first_name(self) -> str:
        name = " ".join(self.cleaned_data["first_name"].split())
        # As signers' names: a name that reorders what follows it could make the admin misread a letter.
        if bidi_controls_in(name) or any(unicodedata.category(c) == "Cc" for c in name):
            raise forms.ValidationError(_("Your name contains invisible control characters. Please type it again."))
        return name

    def clean_text(self) -> str:
        # Browsers count a line break as one character and send two (CR LF): count them as the writer saw them.
        text = self.cleaned_data["text"].replace("\r\n", "\n")
        # Characters that reorder the text after them (or do nothing visible) are dropped, not refused: the
        # writer cannot see them to take them out, and the words stay exactly as written.
        text = "".join(c for c in without_bidi_controls(text) if c in "\n\t" or unicodedata.category(c) != "Cc")
        text = text.strip()
        if len(text) < 2:
            raise forms.ValidationError(_("Please write a few words."))
        if len(text) > settings.LETTERS_MAX_CHARS:
            raise forms.ValidationError(
                _("Your message is %(length)d characters long; please keep it under %(limit)d."),
                params={"length": len(text), "limit": settings.LETTERS_MAX_CHARS},
            )
        return text

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        return clean_letter_image(upload)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("writer_email") and not data.get("writer_consent"):
            self.add_error(
                "writer_consent",
                _("Tick this box if you want to be told of delivery, or leave the email empty."),
            )
        return data


class LetterActionForm(ActionForm):
    """The admin's action bar, with the reason a bulk rejection records."""

    rejection_reason = forms.ModelChoiceField(
        queryset=RejectionReason.objects.filter(active=True), required=False, label=_("Reason (to reject)")
    )
