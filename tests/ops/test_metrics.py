"""/metrics: who may read it, what it says, and that a scrape reads no whole table."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign.lib import metrics
from campaign.lib.outbox import MailStatus
from campaign.models import ExportJob
from campaign.tasks import BEAT_TICK_KEY
from letters.models import Letter
from letters.services.screening import text_fingerprint
from petitions.models import Signature
from tests.conftest import free_port
from tests.petitions.conftest import make_signature

TOKEN = "t" * 40


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format."""
    wanted = ",".join(f'{key}="{val}"' for key, val in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if wanted else "") + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{name} {labels} is not in the metrics:\n{text}"
    return float(found.group(1))


@pytest.fixture(autouse=True)
def _clean_counters(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.TRUSTED_PROXY_COUNT = 0
    cache.delete_many([BEAT_TICK_KEY, metrics.MAIL_KINDS_KEY])
    yield
    kinds = cache.get(metrics.MAIL_KINDS_KEY) or []
    cache.delete_many([metrics._mail_key(k, r) for k in kinds for r in ("sent", "failed")] + [metrics.MAIL_KINDS_KEY])


@pytest.mark.django_db
def test_it_serves_the_metrics_to_loopback_in_prometheus_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "private" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert "# TYPE plume_outbox_due gauge" in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_the_metrics_to_an_address_outside_the_allowed_networks(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"METRICS_ALLOWED_NETWORKS" in response.content
    assert b"plume_" not in response.content


@pytest.mark.django_db
def test_it_says_why_in_the_visitors_language(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    assert "Les métriques" in response.content.decode()


@pytest.mark.django_db
def test_it_opens_to_a_configured_network_as_the_proxy_reports_it(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.TRUSTED_PROXY_COUNT = 1
    # nginx appends the address it saw; whatever the client wrote before it is not trusted.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 200
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.20.3.4, 198.51.100.7").status_code == 403
    # Loopback is no longer in the list: the proxy's own address does not open it.
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_it_does_not_believe_a_forwarded_address_without_a_trusted_proxy(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 403


@pytest.mark.django_db
def test_it_opens_to_the_token_from_anywhere_and_to_no_other_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}x", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", **outside).status_code == 403


@pytest.mark.django_db
def test_it_takes_no_token_when_none_is_set(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


@pytest.mark.django_db
def test_it_answers_only_reads(client):
    assert client.post("/metrics").status_code == 405


def test_settings_refuse_a_network_that_is_not_one(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={"DJANGO_SETTINGS_MODULE": "campaign.settings", "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,intranet",
             "PLUME_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "METRICS_ALLOWED_NETWORKS must list networks" in result.stderr
    assert "'intranet'" in result.stderr


def _letter(case, **fields) -> Letter:
    text = fields.pop("text", "Stay strong.")
    return Letter.objects.create(
        case=case, first_name="Ana", country="PT", language="en", text=text, text_hash=text_fingerprint(text), **fields
    )


@pytest.mark.django_db
def test_it_reports_what_arrived_what_waits_and_how_old(client, case, organizer):
    now = timezone.now()
    make_signature(case, "ana@example.org")
    make_signature(case, "bob@example.org")
    old = make_signature(case, "old@example.org")
    Signature.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(minutes=5))
    _letter(case, writer_email="")
    # The oldest due confirmation waited 2 minutes; one more is in back-off (not due yet), one was sent.
    Signature.objects.filter(pk=old.pk).update(mail_next_attempt_at=now - datetime.timedelta(seconds=120))
    backoff = make_signature(case, "later@example.org")
    Signature.objects.filter(pk=backoff.pk).update(mail_next_attempt_at=now + datetime.timedelta(minutes=4))
    sent = make_signature(case, "sent@example.org")
    Signature.objects.filter(pk=sent.pk).update(mail_status=MailStatus.SENT)
    # Confirmed 40 s ago and not counted yet: the rollup is 40 s behind.
    Signature.objects.filter(pk=sent.pk).update(
        status=Signature.Status.CONFIRMED, confirmed_at=now - datetime.timedelta(seconds=40)
    )
    ExportJob.objects.create(requested_by=organizer, kind="totals", format="csv")
    ExportJob.objects.create(requested_by=organizer, kind="totals", format="csv", status=ExportJob.Status.DONE)
    cache.set(BEAT_TICK_KEY, 1_700_000_000.5, None)

    text = client.get("/metrics").content.decode()

    assert value(text, "plume_received_last_minute", what="signatures") == 4  # the old one is 5 minutes old
    assert value(text, "plume_received_last_minute", what="letters") == 1
    assert value(text, "plume_outbox_due", outbox="petitions.signature") == 3
    assert 120 <= value(text, "plume_outbox_oldest_due_seconds", outbox="petitions.signature") < 180
    assert value(text, "plume_outbox_due", outbox="letters.letter") == 0
    assert value(text, "plume_outbox_oldest_due_seconds", outbox="letters.letter") == 0
    assert 40 <= value(text, "plume_rollup_lag_seconds", rollup="signatures") < 100
    assert value(text, "plume_exports_waiting") == 1
    assert value(text, "plume_export_oldest_waiting_seconds") >= 0
    assert value(text, "plume_beat_last_tick_timestamp_seconds") == 1_700_000_000.5


@pytest.mark.django_db
def test_it_reports_zero_lag_when_nothing_waits(client, case):
    text = client.get("/metrics").content.decode()
    assert value(text, "plume_rollup_lag_seconds", rollup="signatures") == 0
    assert value(text, "plume_exports_waiting") == 0
    assert value(text, "plume_beat_last_tick_timestamp_seconds") == 0


@pytest.mark.django_db
def test_it_counts_the_mails_each_sending_task_reports_per_kind(client, case, smtp_server, settings):
    from petitions import tasks

    make_signature(case, "ana@example.org")
    make_signature(case, "bob@example.org")
    tasks.send_confirmations.apply()
    smtp_server.wait_for(2)
    # A failure: the mail server has gone (nothing listens on its port any more); the outbox counts an attempt.
    make_signature(case, "carol@example.org")
    settings.EMAIL_PORT = free_port()
    tasks.send_confirmations.apply()

    text = client.get("/metrics").content.decode()
    assert value(text, "plume_mails_total", kind="confirmations", result="sent") == 2
    assert value(text, "plume_mails_total", kind="confirmations", result="failed") == 1


def test_a_failed_task_or_another_result_counts_nothing():
    class Task:
        name = "petitions.tasks.count_signatures"

    metrics._count_task_mails(task=Task(), retval=12, state="SUCCESS")
    metrics._count_task_mails(task=Task(), retval={"sent": 3, "failed": 0}, state="FAILURE")
    metrics._count_task_mails(task=Task(), retval={"sent": "3", "failed": 0}, state="SUCCESS")
    assert not cache.get(metrics.MAIL_KINDS_KEY)


@pytest.mark.django_db
def test_a_scrape_reads_no_whole_table_of_signatures_letters_or_mails(client, case):
    """Each query's plan with sequential scans priced out: a query no index can serve still scans, and fails."""
    make_signature(case)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/metrics").status_code == 200
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert selects
    scanned = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in selects:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            # Export jobs are a handful of rows (one per export asked for): no index needed.
            scanned += [line for line in plan.splitlines() if "Seq Scan" in line and "exportjob" not in line]
    assert not scanned, scanned


@pytest.mark.django_db
def test_a_scrape_costs_one_query_per_outbox_and_four_more(client, django_assert_max_num_queries):
    budget = len(metrics.outbox_models()) + 4
    with django_assert_max_num_queries(budget):
        client.get("/metrics")


@pytest.mark.django_db
def test_the_metrics_are_the_same_from_every_web_process(client, case):
    """Nothing is kept per process: two registries (two processes) read the same figures."""
    make_signature(case)
    first = client.get("/metrics").content.decode()
    metrics._REGISTRY = None
    second = client.get("/metrics").content.decode()

    def stable(text: str) -> list[str]:
        return [line for line in text.splitlines() if "seconds" not in line]

    assert stable(first) == stable(second)
