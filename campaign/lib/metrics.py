"""What operators watch: `/metrics` in Prometheus' text format, and errors sent to Sentry without personal data.

**The metrics** are read at each scrape from the primary database and the shared cache, by a collector of
prometheus-client (`PlumeCollector`), so every web process answers the same and nothing is kept per process:

- `plume_received_last_minute{what}`: signatures and letters received in the last 60 s (an index range on
  `created_at`);
- `plume_mails_total{kind,result}`: mails the server accepted and failed attempts, per kind of mail (a counter
  the workers add to in the shared cache);
- `plume_outbox_oldest_due_seconds{outbox}` and `plume_outbox_due{outbox}`: how long the oldest due, unsent mail
  of each outbox has waited, and how many are due (up to OUTBOX_COUNT_CAP), from the outbox's partial index;
- `plume_rollup_lag_seconds{rollup}`: the age of the oldest confirmed signature not counted yet (the rollup's
  partial index);
- `plume_exports_waiting`, `plume_export_oldest_waiting_seconds`: export jobs no worker has started;
- `plume_beat_last_tick_timestamp_seconds`: when beat's last tick ran on a worker (the cache);
- `plume_totals_age_seconds`: how old the totals the pages show are (the cache);
- `plume_replica_up`, `plume_replica_lag_seconds`: with DATABASE_REPLICA_URL, the replica's state.

No query reads a whole table (tests/ops checks each plan with sequential scans switched off); a scrape costs a
query per outbox and three more. Which models count as signatures and letters, and which rollup to follow, come
from settings (METRICS_RECEIVED, METRICS_ROLLUPS): campaign never imports the apps that own them. The mail
counters are kept in the shared cache by `count_mails`, which runs in the worker after every task that returns
`{"sent": n, "failed": m}` (the outbox tasks do); settings.CELERY_IMPORTS loads this module in workers.

Only the addresses in METRICS_ALLOWED_NETWORKS (the client's address as TRUSTED_PROXY_COUNT says) or a request
with `Authorization: Bearer <METRICS_TOKEN>` may read it; anyone else gets a 403.

**Sentry**: with SENTRY_DSN, `init_sentry` (called by settings) sends errors with the official SDK, without
personal data: `send_default_pii` off, no local variables, no request bodies, and `scrub_event` removes
cookies, headers but a few, query strings, the user, and replaces in every text left email addresses, network
addresses (by their network, as the logs do) and the tokens of links in mails.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import logging
import re
import time
from typing import Any

from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .accesslog import redact_tokens, truncate_addresses

log = logging.getLogger(__name__)

# Due mails are counted up to this many: the count stays an index scan of bounded size in a backlog.
OUTBOX_COUNT_CAP = 100_000
MAIL_COUNTER_PREFIX = "metrics:mails:"
MAIL_KINDS_KEY = "metrics:mails:kinds"


# --- The view --------------------------------------------------------------------------------------------------


def may_read_metrics(request: HttpRequest) -> bool:
    """A request with the metrics token, or from an allowed network (the address TRUSTED_PROXY_COUNT trusts)."""
    from .abuse import client_ip

    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS]


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: Plume's metrics in Prometheus' text format, for the allowed networks or the token."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not may_read_metrics(request):
        message = _(
            "Metrics are only shown to the networks in METRICS_ALLOWED_NETWORKS, or with the token of METRICS_TOKEN."
        )
        return HttpResponseForbidden(message + "\n", content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


_REGISTRY: CollectorRegistry | None = None


def _registry() -> CollectorRegistry:
    global _REGISTRY
    if _REGISTRY is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(PlumeCollector())
        _REGISTRY = registry
    return _REGISTRY


# --- What is measured ----------------------------------------------------------------------------------------


class PlumeCollector:
    """prometheus-client calls `collect()` at every scrape (see the module's table)."""

    def collect(self):
        now = timezone.now()
        yield self._received(now)
        yield from self._mails()
        yield from self._outboxes(now)
        yield self._rollups(now)
        yield from self._exports(now)
        yield from self._beat_and_totals()
        if "replica" in settings.DATABASES:
            yield from self._replica()

    def _received(self, now: datetime.datetime) -> GaugeMetricFamily:
        from django.apps import apps

        family = GaugeMetricFamily(
            "plume_received_last_minute", "Rows received in the last 60 seconds (signatures, letters).", labels=["what"]
        )
        since = now - datetime.timedelta(seconds=60)
        for what, label in settings.METRICS_RECEIVED.items():
            model = apps.get_model(label)
            family.add_metric([what], model._default_manager.filter(created_at__gte=since).count())
        return family

    def _mails(self):
        family = CounterMetricFamily(
            "plume_mails", "Mails the server accepted and failed attempts, per kind of mail.", labels=["kind", "result"]
        )
        kinds = cache.get(MAIL_KINDS_KEY) or []
        keys = [_mail_key(kind, result) for kind in kinds for result in ("sent", "failed")]
        values = cache.get_many(keys) if keys else {}
        for kind in kinds:
            for result in ("sent", "failed"):
                family.add_metric([kind, result], int(values.get(_mail_key(kind, result)) or 0))
        yield family

    def _outboxes(self, now: datetime.datetime):
        oldest = GaugeMetricFamily(
            "plume_outbox_oldest_due_seconds",
            "How long the oldest due, unsent mail of each outbox has waited (0: none).",
            labels=["outbox"],
        )
        due = GaugeMetricFamily(
            "plume_outbox_due",
            f"Due, unsent mails of each outbox (counted up to {OUTBOX_COUNT_CAP}).",
            labels=["outbox"],
        )
        for model in outbox_models():
            first, count = _due_mails(model, now)
            label = model._meta.label_lower
            oldest.add_metric([label], (now - first).total_seconds() if first else 0.0)
            due.add_metric([label], count)
        yield oldest
        yield due

    def _rollups(self, now: datetime.datetime) -> GaugeMetricFamily:
        from django.apps import apps

        family = GaugeMetricFamily(
            "plume_rollup_lag_seconds",
            "Age of the oldest row waiting to be counted in the totals (0: none).",
            labels=["rollup"],
        )
        for name, (label, method, since_field) in settings.METRICS_ROLLUPS.items():
            model = apps.get_model(label)
            waiting = getattr(model._default_manager, method)()
            # The rollup's own partial index is on the primary key: the oldest by id is a single index probe.
            first = waiting.order_by("pk").values_list(since_field, flat=True).first()
            family.add_metric([name], (now - first).total_seconds() if first else 0.0)
        return family

    def _exports(self, now: datetime.datetime):
        from django.db.models import Count, Min

        from campaign.models import ExportJob

        row = ExportJob.objects.filter(status=ExportJob.Status.PENDING).aggregate(n=Count("pk"), first=Min("created"))
        yield GaugeMetricFamily("plume_exports_waiting", "Export jobs no worker has started.", value=row["n"])
        age = (now - row["first"]).total_seconds() if row["first"] else 0.0
        yield GaugeMetricFamily(
            "plume_export_oldest_waiting_seconds", "How long the oldest export job has waited (0: none).", value=age
        )

    def _beat_and_totals(self):
        from campaign.tasks import BEAT_TICK_KEY

        from .ledger import TOTALS_CACHE_KEY

        tick = cache.get(BEAT_TICK_KEY)
        yield GaugeMetricFamily(
            "plume_beat_last_tick_timestamp_seconds",
            "When beat's last tick ran on a worker (Unix time; 0: never, or the cache was emptied).",
            value=float(tick or 0),
        )
        totals = cache.get(TOTALS_CACHE_KEY)
        age = 0.0
        if totals:
            age = max(0.0, time.time() - datetime.datetime.fromisoformat(totals["computed_at"]).timestamp())
        yield GaugeMetricFamily(
            "plume_totals_age_seconds", "How old the cached totals the pages show are (0: none cached).", value=age
        )

    def _replica(self):
        from .routers import replica_status

        status = replica_status()
        yield GaugeMetricFamily("plume_replica_up", "1 while the replica serves reads.", value=int(status.usable))
        yield GaugeMetricFamily(
            "plume_replica_lag_seconds",
            "How far the replica's replay is behind what it received (-1: unknown).",
            value=-1.0 if status.lag_seconds is None else status.lag_seconds,
        )


def outbox_models() -> list:
    """Every model that is its own mail outbox (inherits campaign.lib.outbox.OutboxFields)."""
    from django.apps import apps

    from .outbox import OutboxFields

    return [model for model in apps.get_models() if issubclass(model, OutboxFields)]


def _due_mails(model, now: datetime.datetime) -> tuple[datetime.datetime | None, int]:
    """The oldest due time and the number (capped) of due, unsent mails: one query on the outbox's partial index
    (an aggregate over the first OUTBOX_COUNT_CAP due rows, so a backlog costs a bounded scan)."""
    from django.db.models import Count, Min

    from .outbox import MailStatus

    due = (
        model._default_manager.filter(mail_status=MailStatus.PENDING, mail_next_attempt_at__lte=now)
        .order_by("mail_next_attempt_at")
        .values("mail_next_attempt_at")[:OUTBOX_COUNT_CAP]
    )
    row = due.aggregate(first=Min("mail_next_attempt_at"), n=Count("mail_next_attempt_at"))
    return row["first"], row["n"]


# --- Mail counters, kept by the workers ----------------------------------------------------------------------


def _mail_key(kind: str, result: str) -> str:
    return f"{MAIL_COUNTER_PREFIX}{kind}:{result}"


def count_mails(kind: str, sent: int, failed: int) -> None:
    """Add to the mail counters of `kind` (a counter only goes up; Prometheus' rate() reads it)."""
    kinds = cache.get(MAIL_KINDS_KEY) or []
    if kind not in kinds:
        cache.set(MAIL_KINDS_KEY, sorted({*kinds, kind}), None)
    for result, n in (("sent", sent), ("failed", failed)):
        if n:
            key = _mail_key(kind, result)
            cache.add(key, 0, None)
            cache.incr(key, n)


def mail_kind(task_name: str) -> str:
    """`petitions.tasks.send_confirmations` is the kind `confirmations`."""
    return task_name.rsplit(".", 1)[-1].removeprefix("send_")


@task_postrun.connect(weak=False, dispatch_uid="plume-metrics-mails")
def _count_task_mails(task=None, retval=None, state=None, **kwargs) -> None:
    if state != "SUCCESS" or not isinstance(retval, dict):
        return
    sent, failed = retval.get("sent"), retval.get("failed")
    if not isinstance(sent, int) or not isinstance(failed, int):
        return
    try:
        count_mails(mail_kind(task.name), sent, failed)
    except Exception:  # the metrics must never fail the work they count
        log.exception("Could not count the mails of %s", task.name)


# --- Sentry ------------------------------------------------------------------------------------------------------

# Request headers an event keeps; every other one (cookies, authorization, forwarding addresses) goes.
KEPT_HEADERS = frozenset({"host", "content-type", "content-length", "accept", "accept-language", "user-agent"})
_EMAIL = re.compile(r"[^\s@<>()\"',;:/]+@[^\s@<>()\"',;:/]+\.[A-Za-z]{2,}")


def scrub_text(text: str) -> str:
    """`text` without email addresses, full network addresses or tokens of links in mails."""
    return truncate_addresses(redact_tokens(_EMAIL.sub("[email]", text)))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send (and before_send_transaction): the event without personal data."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "env", "query_string"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS}
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    event.pop("user", None)
    for frames in _frames(event):
        for frame in frames:
            frame.pop("vars", None)
    return _scrub(event)


def _frames(event: dict):
    for part in ("exception", "threads"):
        for entry in (event.get(part) or {}).get("values") or []:
            yield (entry.get("stacktrace") or {}).get("frames") or []


def init_sentry(dsn: str, *, environment: str = "", transport: Any = None) -> None:
    """Send errors to Sentry (settings call this with SENTRY_DSN). Tests pass a transport of their own."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    # send_default_pii stays off by being left unset: sentry-sdk 2.75 warns when it is set (it prefers
    # data_collection), and with data_collection it would switch its own scrubber (EventScrubber) off.
    options: dict[str, Any] = {
        "dsn": dsn,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_send_transaction": scrub_event,
        "before_breadcrumb": lambda crumb, hint: _scrub(crumb),
        "traces_sample_rate": 0.0,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
    }
    if environment:
        options["environment"] = environment
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
