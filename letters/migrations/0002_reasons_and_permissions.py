"""Seed the rejection reasons and give the staff groups their letters permissions.

Moderators read and moderate letters (view/change; the admin never lets them edit a letter's content),
see the rejection reasons and keep the pre-screen's word list. They get nothing on family contacts or
digests, and no export. Organizers manage family contacts, see digests and edit the rejection reasons;
they get no permission on letters themselves.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATOR_PERMISSIONS = [
    "view_letter",
    "change_letter",
    "view_rejectionreason",
    "view_flaggedword",
    "add_flaggedword",
    "change_flaggedword",
    "delete_flaggedword",
]
ORGANIZER_PERMISSIONS = [
    "view_familycontact",
    "add_familycontact",
    "change_familycontact",
    "delete_familycontact",
    "view_digest",
    "view_rejectionreason",
    "add_rejectionreason",
    "change_rejectionreason",
]
REASONS = [
    "Hateful, insulting or threatening",
    "Could put the person or their family at risk",
    "Political or about the authorities, not to the family",
    "Contains contact details or links",
    "Advertising or spam",
    "Not a message of support",
    "Same text sent many times",
]


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations; create this app's now to hand them out.
    app_config = apps.get_app_config("letters")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    grant_and_seed(apps)


def grant_and_seed(apps):
    """Also called by the tests after a transactional test has flushed the database."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in (("Moderators", MODERATOR_PERMISSIONS), ("Organizers", ORGANIZER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="letters", codename__in=codenames))
    RejectionReason = apps.get_model("letters", "RejectionReason")
    for order, label in enumerate(REASONS):
        RejectionReason.objects.get_or_create(label=label, defaults={"display_order": order})


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0001_initial"),
        ("campaign", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
