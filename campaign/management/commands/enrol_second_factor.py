"""Give a staff member their second factor: an authenticator app (TOTP) they add by scanning a QR code.

    python manage.py enrol_second_factor moderator            # prints a QR code and the key to type instead
    python manage.py enrol_second_factor moderator --replace  # a lost or new phone: the old app stops working

With STAFF_TWO_FACTOR on, staff sign in with their password and the app's code (campaign.lib.signin). Run it
in a terminal the staff member can see, or send them the QR code by a channel you trust.
"""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Give a staff member an authenticator app (TOTP) as their second factor; --replace for a lost phone."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Remove the staff member's other second factors (a lost phone) before adding the new one.",
        )
        parser.add_argument("--no-qr", action="store_true", help="Print the key and link only, no QR code.")

    @transaction.atomic
    def handle(self, *args, username: str, replace: bool, no_qr: bool, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff: only staff sign in to Plume.")
        existing = TOTPDevice.objects.devices_for_user(user)
        if replace:
            existing.delete()
            StaticDevice.objects.devices_for_user(user).delete()
        elif existing.exists():
            raise CommandError(
                f"{username!r} already has an authenticator app. If the phone was lost or changed, run this again "
                "with --replace: the old app then stops working."
            )
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)

        self.stdout.write(f"{username} now signs in with a code from an authenticator app.")
        if not no_qr:
            import segno

            qr = io.StringIO()
            segno.make(device.config_url, error="m").terminal(out=qr, compact=True)
            self.stdout.write("Scan this QR code with the app (FreeOTP, Aegis, Google Authenticator, ...):")
            self.stdout.write(qr.getvalue())
        self.stdout.write(f"Or type this key in the app: {device_key(device)} (time-based, 6 digits)")
        self.stdout.write(f"Link: {device.config_url}")


def device_key(device: TOTPDevice) -> str:
    """The device's secret as authenticator apps ask for it (base32, in groups of four)."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
