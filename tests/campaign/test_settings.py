"""Settings come from the environment; production refuses to start without its secrets, and the demo (no
SECRET_KEY: the key printed in the source) answers on loopback only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-" + "z" * 20,
    "SITE_URL": "https://plume.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/plume",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    # Who runs the site (footer, privacy notice, mails): `check --deploy` warns while they are the demo's.
    "ORGANISATION_NAME": "Amnesty International Example",
    "ORGANISATION_CONTACT": "contact@plume.example.org",
}
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({k: getattr(s, k) "
    "for k in ['DEBUG', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
    "'ALLOWED_HOSTS', 'CSRF_TRUSTED_ORIGINS', 'EMAIL_BACKEND', 'EMAIL_PORT', 'CELERY_BROKER_URL']}))"
)


pytestmark = pytest.mark.subprocess


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    # The test run itself sets variables (DJANGO_ALLOW_ASYNC_UNSAFE for Playwright) that production must not.
    dropped = {*PRODUCTION, "ALLOWED_HOSTS", "TEST_DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "campaign.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deployment_checklist_with_production_variables():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_turns_https_settings_on_for_an_https_site():
    result = run(["-c", SHOW], **PRODUCTION)
    shown = json.loads(result.stdout)
    assert shown["SECURE_SSL_REDIRECT"] and shown["SESSION_COOKIE_SECURE"] and shown["CSRF_COOKIE_SECURE"]
    assert shown["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert shown["ALLOWED_HOSTS"] == ["plume.example.org"]
    assert shown["CSRF_TRUSTED_ORIGINS"] == ["https://plume.example.org"]
    assert shown["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend" and shown["EMAIL_PORT"] == 2525
    assert shown["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/1"


def test_it_turns_https_settings_off_for_a_plain_http_site():
    result = run(["-c", SHOW], **{**PRODUCTION, "SITE_URL": "http://127.0.0.1:8000"})
    shown = json.loads(result.stdout)
    assert not shown["SECURE_SSL_REDIRECT"] and not shown["SESSION_COOKIE_SECURE"]
    assert shown["SECURE_HSTS_SECONDS"] == 0


def test_it_refuses_to_serve_a_site_with_the_demo_key():
    """A production deployment that forgot SECRET_KEY would sign confirmation links with a published key."""
    result = run(["manage.py", "check"], **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set to serve plume.example.org" in result.stderr
    assert "the demo key" in result.stderr


def test_it_refuses_to_start_without_a_site_url_when_a_secret_key_is_set():
    result = run(["manage.py", "check"], **{**PRODUCTION, "SITE_URL": ""})
    assert result.returncode != 0
    assert "SITE_URL must be set" in result.stderr


def test_it_runs_the_demo_with_debug_off_and_loopback_only_with_no_settings(tmp_path):
    result = run(["-c", SHOW], PLUME_VAR_DIR=str(tmp_path))
    shown = json.loads(result.stdout)
    assert shown["DEBUG"] is False
    assert shown["ALLOWED_HOSTS"] == ["127.0.0.1", "[::1]", "localhost"]
    assert shown["CELERY_BROKER_URL"] == "filesystem://"
    assert shown["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.parametrize(
    "asked",
    [
        {"ALLOWED_HOSTS": "plume.example.org"},
        {"ALLOWED_HOSTS": "*"},
        {"ALLOWED_HOSTS": "localhost,192.168.1.20"},
        {"SITE_URL": "https://plume.example.org"},
        # Written out: the demo key is the demo key, however it is given.
        {"ALLOWED_HOSTS": "plume.example.org", "SECRET_KEY": "plume-demo-only-not-secret-" + "x" * 40},
    ],
)
@pytest.mark.parametrize("debug", ["true", "false"])
def test_it_refuses_to_serve_other_hosts_than_loopback_with_the_demo_key(tmp_path, asked, debug):
    result = run(["manage.py", "check"], DEBUG=debug, PLUME_VAR_DIR=str(tmp_path), **asked)
    assert result.returncode != 0, result.stdout
    assert "SECRET_KEY must be set to serve" in result.stderr
    assert "127.0.0.1, [::1] and localhost" in result.stderr


def test_it_serves_the_loopback_names_with_the_demo_key(tmp_path):
    result = run(
        ["-c", SHOW],
        DEBUG="true",
        ALLOWED_HOSTS="localhost,127.0.0.1,::1",
        SITE_URL="http://localhost:8001",
        PLUME_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["DEBUG"] is True
    assert shown["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


def test_it_collects_the_static_files_for_production(tmp_path):
    """Production serves hashed, compressed files (whitenoise's manifest storage), which fails on any file a
    stylesheet or script refers to that is missing."""
    result = run(["manage.py", "collectstatic", "--no-input"], **PRODUCTION, PLUME_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert "vendor/bootstrap/bootstrap.rtl.min.css" in manifest["paths"]
    assert "css/plume.css" in manifest["paths"]
