"""With STAFF_TWO_FACTOR on, staff need a code from their authenticator app as well as their password, on
the admin and on the organizers' pages; `enrol_second_factor` gives them the app."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

LOGIN = "/admin/login/?next=/admin/"


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrol(user) -> TOTPDevice:
    call_command("enrol_second_factor", user.username, "--no-qr", stdout=io.StringIO())
    return TOTPDevice.objects.get(user=user)


@pytest.fixture
def two_factor(settings):
    settings.STAFF_TWO_FACTOR = True


def test_it_is_off_by_default_so_the_demo_staff_sign_in_with_a_password(settings, client, superuser):
    assert settings.STAFF_TWO_FACTOR is False
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200


def test_a_superuser_without_a_second_factor_cannot_use_the_admin(two_factor, client, superuser):
    client.force_login(superuser)  # signed in with a password only
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    assert client.get("/admin/auth/user/").status_code == 302

    # Signing in again with the right password alone does not get in either, and says why.
    client.logout()
    response = client.post(LOGIN, {"username": "root", "password": "correct horse battery"})
    assert response.status_code == 200
    assert "This account has no second factor yet" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_superuser_with_an_app_signs_in_with_its_code(two_factor, client, superuser):
    device = enrol(superuser)
    response = client.post(LOGIN, {"username": "root", "password": "correct horse battery"})
    assert response.status_code == 200  # the code is missing
    assert "Type the code your authenticator app shows" in response.content.decode()

    response = client.post(
        LOGIN, {"username": "root", "password": "correct horse battery", "otp_token": current_code(device)}
    )
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200


def test_a_wrong_code_does_not_get_in(two_factor, client, superuser):
    device = enrol(superuser)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(LOGIN, {"username": "root", "password": "correct horse battery", "otp_token": wrong})
    assert response.status_code == 200
    assert "This code is not right" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_the_organizers_pages_need_the_second_factor_too(two_factor, client, organizer):
    from django.urls import reverse

    client.force_login(organizer)
    response = client.get(reverse("organizers:dashboard"))
    assert response.status_code == 302 and "/admin/login/" in response.url

    device = enrol(organizer)
    client.logout()
    client.post(
        LOGIN, {"username": "organizer", "password": "correct horse battery", "otp_token": current_code(device)}
    )
    assert client.get(reverse("organizers:dashboard")).status_code == 200


def test_the_sign_in_page_asks_for_the_code_in_the_staff_members_language(two_factor, client):
    html = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'name="otp_token"' in html
    assert "Code de votre application d\N{RIGHT SINGLE QUOTATION MARK}authentification" in html


def test_enrolling_prints_what_the_app_needs_and_refuses_a_second_app(superuser):
    out = io.StringIO()
    call_command("enrol_second_factor", "root", stdout=out)
    printed = out.getvalue()
    device = TOTPDevice.objects.get(user=superuser)
    assert device.confirmed
    assert device.config_url in printed and "Or type this key in the app" in printed
    assert "\u2580" in printed or "\u2584" in printed or "\u2588" in printed  # the QR code, in block characters

    with pytest.raises(CommandError, match="--replace"):
        call_command("enrol_second_factor", "root", stdout=io.StringIO())


def test_a_lost_phone_is_replaced_and_its_codes_stop_working(two_factor, client, superuser):
    from django.test import Client

    lost = enrol(superuser)
    old_code = current_code(lost)
    call_command("enrol_second_factor", "root", "--replace", "--no-qr", stdout=io.StringIO())
    new = TOTPDevice.objects.get(user=superuser)
    assert new.key != lost.key and not TOTPDevice.objects.filter(pk=lost.pk).exists()

    response = client.post(
        LOGIN, {"username": "root", "password": "correct horse battery", "otp_token": current_code(new)}
    )
    assert client.get("/admin/").status_code == 200, response.content.decode()[-500:]
    # Whoever has the lost phone: its code no longer gets in.
    finder = Client()
    finder.post(LOGIN, {"username": "root", "password": "correct horse battery", "otp_token": old_code})
    assert finder.get("/admin/").status_code == 302


def test_an_emergency_code_gets_in_once_while_the_phone_is_away(two_factor, client, superuser):
    from django.test import Client
    from django_otp.plugins.otp_static.models import StaticDevice

    enrol(superuser)
    out = io.StringIO()
    call_command("addstatictoken", "root", stdout=out)
    code = out.getvalue().strip()
    fields = {"username": "root", "password": "correct horse battery", "otp_token": code}

    # With an app and emergency codes, the form asks which one the code comes from.
    response = client.post(LOGIN, fields)
    assert "Choose the device the code comes from" in response.content.decode()
    assert "Backup Code" in response.content.decode()
    emergency = StaticDevice.objects.get(user=superuser).persistent_id
    assert client.post(LOGIN, {**fields, "otp_device": emergency}).status_code == 302
    assert client.get("/admin/").status_code == 200
    # Used once, gone.
    other = Client()
    other.post(LOGIN, {**fields, "otp_device": emergency})
    assert other.get("/admin/").status_code == 302


def test_only_staff_are_enrolled(django_user_model):
    django_user_model.objects.create_user(username="visitor", password="x" * 12)
    with pytest.raises(CommandError, match="not staff"):
        call_command("enrol_second_factor", "visitor", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No user"):
        call_command("enrol_second_factor", "nobody", stdout=io.StringIO())
