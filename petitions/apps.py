from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = _("Petitions")
    # campaign.urls puts this app's urls.py under /<language>/petitions/.
    url_prefix = "petitions/"

    def ready(self) -> None:
        from celery.schedules import crontab
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from campaign.celery import schedule
        from campaign.lib.panels import register_case_panel

        from . import views
        from .models import EmailRule, forget_email_rules

        register_case_panel("petition", 10, views.render_panel)
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: forget_email_rules(), sender=EmailRule, weak=False)

        mail, rollup = settings.PETITION_MAIL_INTERVAL_SECONDS, settings.PETITION_ROLLUP_INTERVAL_SECONDS
        schedule(
            {
                # Expiring: when workers are busy, a run that waited longer than the interval is dropped, not
                # piled up.
                "petitions-send-confirmations": {
                    "task": "petitions.tasks.send_confirmations",
                    "schedule": mail,
                    "options": {"expires": mail},
                },
                "petitions-count-signatures": {
                    "task": "petitions.tasks.count_signatures",
                    "schedule": rollup,
                    "options": {"expires": rollup},
                },
                # The outcome of a case, to the signers who asked for it (sent when an organizer mails it).
                "petitions-send-outcome-mails": {
                    "task": "petitions.tasks.send_outcome_mails",
                    "schedule": 60.0,
                    "options": {"expires": 60.0},
                },
                "petitions-forget-old-data": {"task": "petitions.tasks.forget_old_data", "schedule": 3600.0},
                "petitions-reconcile": {
                    "task": "petitions.tasks.reconcile_signatures",
                    "schedule": crontab(hour=3, minute=5),
                },
            }
        )
