"""The admin's sign-in form when STAFF_TWO_FACTOR is on: name, password and the code of an authenticator app
in one step (campaign.lib.signin)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.models import Device

NO_DEVICE_MESSAGE = _(
    "This account has no second factor yet, and this site asks for one. Ask an administrator to set up an "
    "authenticator app for you."
)


class SecondFactorLoginForm(OTPAdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        # As wide as the name and password above it (the admin's login.css sizes those two by their ids).
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "style": "width: 100%"}),
    )

    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Type the code your authenticator app shows for this site."),
        "invalid_token": _("This code is not right. Type the code your app shows now."),
        "device_required": _("Choose the device the code comes from."),
    }

    def clean_otp(self, user) -> None:
        if user is not None and not any(devices_for_user(user)):
            raise forms.ValidationError(NO_DEVICE_MESSAGE, code="no_device")
        super().clean_otp(user)

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None and not self.cleaned_data.get("otp_device"):
            # Most staff have one app: its code needs no choice. Someone with several (an app and emergency
            # codes, say) picks one from the list the form then shows.
            devices = list(devices_for_user(user))
            if len(devices) == 1:
                device = Device.from_persistent_id(devices[0].persistent_id, for_verify=True)
        return device
