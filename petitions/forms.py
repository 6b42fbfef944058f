"""The petition form on the case page, the "new link" form, and the staff forms of the admin."""

from __future__ import annotations

import datetime
import ipaddress

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Layout, Submit
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from campaign.forms import CountryChoiceField
from campaign.lib.abuse import HumanCheckFormMixin
from campaign.models import Case

from .models import OutcomeMailing, PaperImport
from .services import invalidation, outcome, paper, signing


class SignatureForm(HumanCheckFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=signing.NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        help_text=_("We send you a link to confirm your signature. The authority never sees your email."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    country = CountryChoiceField(label=_("Your country"))
    wants_news = forms.BooleanField(label=_("Tell me by email how this case turns out"), required=False)

    def __init__(self, *args, case: Case | None = None, **kwargs) -> None:
        # The case page carries other apps' forms too: element ids must not clash (field names stay plain).
        kwargs.setdefault("auto_id", "petition_%s")
        super().__init__(*args, **kwargs)
        self.case = case

    @cached_property
    def helper(self) -> FormHelper:
        # Built only when the form is shown: a valid submission never needs its layout.
        helper = FormHelper()
        helper.form_method = "post"
        if self.case is not None:
            helper.form_action = reverse(
                "petitions:sign", kwargs={"campaign": self.case.campaign.slug, "case": self.case.slug}
            )
        helper.layout = Layout(
            Field("name"),
            Field("email"),
            Field("country"),
            Field("wants_news"),
            # Hidden from people by CSS and from screen readers; bots fill it in.
            Div(Field("website"), css_class="plume-hp", aria_hidden="true"),
            Field("started"),
            HTML('<p class="small">{% include "campaign/_privacy_link.html" %}</p>'),
            Submit("sign", _("Sign the petition"), css_class="btn-dark btn-lg"),
        )
        return helper

    @property
    def min_seconds_to_fill(self) -> int:  # read from settings so a benchmark can turn it off
        return settings.PETITION_MIN_SECONDS_TO_FILL

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        problem = signing.name_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        local, _, domain = email.rpartition("@")
        return f"{local}@{domain.lower()}"

    def email_domain(self) -> str:
        return self.cleaned_data["email"].rpartition("@")[2].lower()


class NewLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your email"), max_length=254)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_action = reverse("petitions:new_link")
        self.helper.add_input(Submit("send", _("Send me a new link"), css_class="btn-dark"))


# --- Staff ----------------------------------------------------------------------------------------------


class PaperImportForm(forms.ModelForm):
    # The field keeps its name (the admin reads it); it takes XLSX workbooks too (paper.read_sheet).
    csv_file = forms.FileField(
        label=_("File (CSV or Excel)"),
        help_text=_(
            "A CSV file (commas or semicolons; UTF-8 or Windows/Latin-1) or an Excel workbook (XLSX, its first "
            "sheet), whose first line names the columns, in any of the site's languages, as the tally sheets "
            "print them. Named rows: name, country and optionally email. Counts: country, count. Countries by "
            "name in any of the site's languages, or as ISO codes (FR, FRA)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    class Meta:
        model = PaperImport
        fields = ["case", "kind", "event", "day"]

    MAX_BYTES = 10 * 1024 * 1024

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = Case.objects.select_related("campaign")
        self.fields["day"].initial = datetime.date.today

    def clean_csv_file(self):
        upload = self.cleaned_data["csv_file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB: split it."))
        return upload

    def clean(self):
        data = super().clean()
        upload = data.get("csv_file")
        if upload is not None and data.get("kind"):
            content = upload.read()
            try:
                paper.check_paper_file(content, data["kind"])
            except paper.PaperFileError as exc:
                self.add_error("csv_file", str(exc))
            else:
                data["csv_content"] = content
        return data


class BulkInvalidationForm(forms.Form):
    case = forms.ModelChoiceField(
        label=_("Case"), queryset=Case.objects.select_related("campaign"), required=False, empty_label=_("All cases")
    )
    domain = forms.CharField(label=_("Email domain"), required=False, max_length=253, help_text=_("example.com"))
    network = forms.CharField(
        label=_("Network address range"),
        required=False,
        max_length=64,
        help_text=_("One address or a range such as 203.0.113.0/24. Addresses are kept only a few days."),
    )
    signed_from = forms.DateTimeField(label=_("Signed from"), required=False, help_text=_("2026-11-24 14:00"))
    signed_until = forms.DateTimeField(label=_("Signed before"), required=False)

    def clean_domain(self) -> str:
        domain = self.cleaned_data["domain"].strip().lower().lstrip("@")
        if domain and ("@" in domain or " " in domain or "." not in domain):
            raise forms.ValidationError(_("Write a domain such as example.com."))
        return domain

    def clean_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        value = self.cleaned_data["network"].strip()
        if not value:
            return None
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise forms.ValidationError(_("Write an address or a range such as 203.0.113.0/24.")) from exc

    def clean(self):
        data = super().clean()
        if not any(data.get(k) for k in ("domain", "network", "signed_from", "signed_until")):
            raise forms.ValidationError(_("Give a domain, an address range or a time window."))
        return data

    def filter(self) -> invalidation.InvalidationFilter:
        data = self.cleaned_data
        network = data.get("network")
        return invalidation.InvalidationFilter(
            case_id=data["case"].pk if data.get("case") else None,
            domain=data.get("domain", ""),
            ip_first=str(network.network_address) if network else "",
            ip_last=str(network.broadcast_address) if network else "",
            signed_from=data.get("signed_from"),
            signed_until=data.get("signed_until"),
        )


class OutcomeMailingForm(forms.ModelForm):
    """An organizer mails a case's outcome: the form says how many signers it will reach and asks to confirm."""

    confirm = forms.BooleanField(
        label=_("Send it now"),
        required=False,
        help_text=_("Each signer who asked for news gets the case's outcome once, in their language."),
    )

    class Meta:
        model = OutcomeMailing
        fields = ["case"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = Case.objects.select_related("campaign").filter(outcome_mailing__isnull=True)

    def clean(self):
        data = super().clean()
        case = data.get("case")
        if case is None:
            return data
        if not (case.outcome or "").strip():
            raise forms.ValidationError(
                _("Write the case's outcome first (Cases, then this case): it is the text of the mail.")
            )
        count = outcome.outcome_recipients(case).count()
        if not data.get("confirm"):
            raise forms.ValidationError(
                ngettext(
                    "This mails %(count)s signer. Tick the box and save again to send it.",
                    "This mails %(count)s signers. Tick the box and save again to send it.",
                    count,
                )
                % {"count": count}
            )
        return data
