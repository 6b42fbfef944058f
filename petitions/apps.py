from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PetitionsConfig(AppConfig):
    name = "petitions"
    verbose_name = _("Petitions")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from campaign.exports import register_exporter
        from campaign.panels import register_case_panel

        from . import exports, views
        from .models import EmailRule, forget_email_rules

        register_case_panel("petition", 10, views.render_panel)
        register_exporter(exports.SIGNATURES)
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: forget_email_rules(), sender=EmailRule, weak=False)
