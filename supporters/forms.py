"""The supporters' forms: asking for one's data, and the Mastodon instance to post or share on."""

from __future__ import annotations

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

_HOST = re.compile(r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")


class DataLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        help_text=_("The address you signed or wrote with. We send the link there, and only there."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse("supporters:your-data")
        self.helper.add_input(Submit("send", _("Send me the link"), css_class="btn-dark"))


class MastodonForm(forms.Form):
    instance = forms.CharField(
        label=_("Your Mastodon server"),
        max_length=300,
        help_text=_("For example mastodon.social, or your full address such as @ana@mastodon.social."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "dir": "ltr", "spellcheck": "false"}),
    )

    def clean_instance(self) -> str:
        value = self.cleaned_data["instance"].strip().lower()
        value = re.sub(r"^https?://", "", value).split("/", 1)[0]
        value = value.rsplit("@", 1)[-1]  # "@ana@mastodon.social" is at mastodon.social
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            value = ""
        if not _HOST.fullmatch(value):
            raise forms.ValidationError(_("Write the name of a Mastodon server, such as mastodon.social."))
        return value
