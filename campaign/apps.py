from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = _("Campaign and cases")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .celery import schedule
        from .lib.pages import forget_cached_pages
        from .models import Campaign, Case

        for model in (Campaign, Case):
            post_save.connect(forget_cached_pages, sender=model, dispatch_uid=f"forget-pages-{model.__name__}")
            post_delete.connect(forget_cached_pages, sender=model, dispatch_uid=f"forget-pages-del-{model.__name__}")
        schedule(
            {
                # The last tick is what /healthz reads to tell that beat and a worker are alive.
                "beat-tick": {"task": "campaign.tasks.beat_tick", "schedule": 10.0},
                "forget-expired-signin-attempts": {
                    "task": "campaign.tasks.forget_expired_signin_attempts",
                    "schedule": 3600.0,
                },
            }
        )
