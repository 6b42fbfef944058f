from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = _("Campaign and cases")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import Campaign, Case
        from .views import forget_cached_pages

        for model in (Campaign, Case):
            post_save.connect(forget_cached_pages, sender=model, dispatch_uid=f"forget-pages-{model.__name__}")
            post_delete.connect(forget_cached_pages, sender=model, dispatch_uid=f"forget-pages-del-{model.__name__}")
