"""The Celery application. Each app's tasks live in its tasks.py (found by autodiscovery); each app adds its
periodic tasks to beat's schedule from its AppConfig.ready() with `schedule()`, so the project never names
them. `BrokerConsumer` is the worker's consumer (settings.CELERY_WORKER_CONSUMER): it reconnects to Redis as
promptly as the broker's retry options say."""

from __future__ import annotations

import functools
import os

from celery import Celery
from celery.worker.consumer import Consumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")

app = Celery("campaign")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def schedule(entries: dict[str, dict]) -> None:
    """Add periodic tasks to beat's schedule (Celery's `beat_schedule` entries). Call from an AppConfig.ready():
    Django is set up, and so every app's entries are in, before beat reads the schedule."""
    app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **entries}


# The broker's retry options that kombu reads from the transport options (when it opens a channel) and that
# BrokerConsumer passes on to the worker's reconnection too.
RETRY_OPTIONS = ("interval_start", "interval_step", "interval_max")


class BrokerConsumer(Consumer):
    """Celery's consumer, reconnecting to the broker promptly, and surviving the loss of Redis mid-task.

    - Celery's own consumer reconnects with kombu's fixed back-off (2, 4, 6 ... 30 s between tries), whatever
      the settings say: after Redis had been down for 20 s, the worker came back 9 to 12 s after Redis did,
      and beat's tasks sent in between found no queue (a restarted Redis has lost the queue's binding until a
      worker declares it again) and were dropped. This one uses the intervals of CELERY_BROKER_TRANSPORT_OPTIONS.
    - When Redis goes away while a task is running (acks_late: its message is not acknowledged yet), Celery
      5.7 releases the broken connection's transport, and kombu then forgets the transport's connection
      details; the old channel still needs them, to put that message back and, once the task ends, to
      acknowledge it: both raised an AttributeError that ended the whole worker ("Unrecoverable error"),
      first on the loss, then on the acknowledgement after Redis returned. This one releases the transport but
      leaves it its details, so the old channel reaches Redis again like any other client.

    tests/campaign/test_broker_reconnect.py checks both on a real worker and beat.
    """

    def ensure_connected(self, conn):
        options = self.app.conf.broker_transport_options or {}
        intervals = {name: options[name] for name in RETRY_OPTIONS if name in options}
        if intervals:
            conn.ensure_connection = functools.partial(conn.ensure_connection, **intervals)
        return super().ensure_connected(conn)

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:

            def release_transport_keeping_its_details() -> None:
                # What kombu.Connection._do_close_transport does, but for `transport.client = None`.
                connection._transport = None

            connection._do_close_transport = release_transport_keeping_its_details
        super().on_connection_error_after_connected(exc)
