"""The replica's router without a replica: what settings name exists, and nothing changes until a scope opens."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from campaign.celery import app
from campaign.lib import routers
from campaign.models import Tally


def test_every_view_named_for_the_replica_exists():
    for name in settings.REPLICA_READ_VIEWS:
        assert reverse(name)  # a name that no longer resolves would leave its view on the primary, silently


def test_every_task_named_for_the_replica_is_registered():
    app.loader.import_default_modules()
    assert set(settings.REPLICA_READ_TASKS) <= set(app.tasks)


def test_workers_load_the_scopes_and_the_mail_counters():
    assert {"campaign.lib.routers", "campaign.lib.metrics"} <= set(settings.CELERY_IMPORTS)


def test_without_a_scope_the_router_leaves_every_read_to_the_primary():
    router = routers.ReplicaRouter()
    assert router.db_for_read(Tally) is None
    assert router.db_for_write(Tally) == "default"
    assert routers.read_alias() == "default"


def test_without_a_replica_a_scope_reads_the_primary():
    router = routers.ReplicaRouter()
    with routers.reading_from_replica():
        assert router.db_for_read(Tally) == "default"
        assert routers.read_alias() == "default"


def test_migrations_run_on_the_primary_only():
    router = routers.ReplicaRouter()
    assert router.allow_migrate("default", "campaign")
    assert not router.allow_migrate("replica", "campaign")
