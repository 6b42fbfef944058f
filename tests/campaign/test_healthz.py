"""GET /healthz: database, broker and the last beat tick."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from campaign.celery import app
from campaign.tasks import BEAT_TICK_KEY, beat_tick

pytestmark = pytest.mark.django_db


def test_it_is_healthy_after_a_beat_tick(client):
    beat_tick()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"] and body["checks"]["beat"]["ok"]


def test_it_reports_a_beat_that_never_ticked(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == {"ok": False, "seconds_since_tick": None}


def test_it_reports_a_stale_beat(client, settings):
    cache.set(BEAT_TICK_KEY, time.time() - settings.BEAT_STALE_AFTER_SECONDS - 1, None)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["ok"] is False


def test_it_reports_an_unreachable_broker(client, monkeypatch):
    beat_tick()
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True
