"""Ledger data for the organizers' tests, written the way the apps write it: through campaign.ledger."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from campaign import ledger
from campaign.ledger import TallyKey


@pytest.fixture
def mixed_ledger(demo_campaign):
    """Signatures and letters online (as petitions and letters count them), paper signatures, for three
    cases, over the last ten days. Returns the list of (key, n) written."""
    today = timezone.localdate()
    cases = list(demo_campaign.cases.order_by("display_order")[:3])
    writes = []
    for offset in range(10):
        day = today - datetime.timedelta(days=offset)
        for i, case in enumerate(cases):
            writes += [
                (TallyKey(case.pk, "signature", "online", "DZ", day), 10 + i + offset),
                (TallyKey(case.pk, "signature", "online", "FR", day), 3 * i + 1),
                (TallyKey(case.pk, "signature", "online", "", day), 1),
                (TallyKey(case.pk, "letter", "online", "MA", day), offset % 3),
                (TallyKey(case.pk, "signature", "paper", "BE", day), 5 if offset == 4 else 0),
            ]
    ledger.add_to_tallies(writes)
    return writes


@pytest.fixture
def staff_groups(transactional_db):
    """The staff groups with their campaign permissions, as the data migrations make them.

    A transactional test starts from whatever the previous one left: after a flush the groups are gone.
    """
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    codenames = [
        *import_module("campaign.migrations.0002_staff_groups").ORGANIZER_PERMISSIONS,
        *import_module("campaign.migrations.0004_organizers_permissions").ORGANIZER_PERMISSIONS,
    ]
    organizers, _ = Group.objects.get_or_create(name="Organizers")
    organizers.permissions.add(*Permission.objects.filter(content_type__app_label="campaign", codename__in=codenames))
    Group.objects.get_or_create(name="Moderators")
