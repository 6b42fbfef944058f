"""Seed the gmail.com normalisation rules and hand the petition permissions to the Organizers group.

Moderators get nothing of petitions. Organizers see signatures (without addresses: see petitions/admin.py),
invalidate them, import paper sheets and download the lists for the authority.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RULES = [
    {"domain": "gmail.com", "ignore_dots": True, "strip_plus_tag": True, "same_as": ""},
    {"domain": "googlemail.com", "ignore_dots": True, "strip_plus_tag": True, "same_as": "gmail.com"},
]

ORGANIZER_PERMISSIONS = [
    "view_signature",
    "export_signatures",
    "invalidate_signatures",
    "view_paperimport",
    "add_paperimport",
    "view_emailrule",
]


def seed(apps, schema_editor):
    EmailRule = apps.get_model("petitions", "EmailRule")
    for rule in RULES:
        EmailRule.objects.get_or_create(domain=rule["domain"], defaults=rule)

    # Permissions are normally created after all migrations; create this app's now to hand them out.
    app_config = apps.get_app_config("petitions")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organizers, _ = Group.objects.get_or_create(name="Organizers")
    organizers.permissions.add(
        *Permission.objects.filter(content_type__app_label="petitions", codename__in=ORGANIZER_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [("petitions", "0001_initial"), ("campaign", "0002_staff_groups")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
