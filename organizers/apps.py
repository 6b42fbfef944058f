from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganizersConfig(AppConfig):
    name = "organizers"
    verbose_name = _("Organizers")
    # campaign.urls puts this app's urls.py under /<language>/ (its pages are staff/ and embed/), and its
    # root_urlpatterns (the open data) at the root.
    url_prefix = ""

    def ready(self) -> None:
        from celery.schedules import crontab

        from campaign.celery import schedule

        from .exports import handover, letters_pack, signatures, totals
        from .exports.base import register_exporter

        for exporter in (totals.BY_DAY, totals.BY_CASE, totals.BY_COUNTRY, signatures.SIGNATURES):
            register_exporter(exporter)
        # The printed packs (#13).
        for exporter in (handover.HANDOVER, letters_pack.LETTERS_PACK):
            register_exporter(exporter)
        # The whole movement by section, and the local groups (#14).
        from .exports import movement

        for exporter in (movement.BY_SECTION, movement.BY_GROUP):
            register_exporter(exporter)
        schedule(
            {
                "delete-expired-exports": {"task": "organizers.tasks.delete_expired_exports", "schedule": 3600.0},
                "reconcile-offline-reports": {
                    "task": "organizers.tasks.reconcile_offline_reports",
                    "schedule": crontab(hour=3, minute=40),
                },
            }
        )
