"""What the supporters app keeps: the "Your data" requests, each its own mail outbox.

Share codes and the channel a signature came through are on the signature (petitions); solidarity posts are
counted in the cache and folded into the ledger (services.posts). Nothing else about a visitor is kept.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.lib.languages import default_language
from campaign.lib.outbox import OutboxFields


class DataRequest(OutboxFields):
    """Someone asked on the "Your data" page for a link to what Plume holds about an address.

    The link is mailed by a periodic task (services.data.send_data_links), only if the address signed or wrote
    something, so the page never tells whether it is known. The row (and the address) is deleted once the link
    has expired (SUPPORTERS_DATA_LINK_HOURS), by the hourly forgetting task.
    """

    email = models.EmailField(_("email"), max_length=254)
    language = models.CharField(_("language"), max_length=8, default=default_language)
    created_at = models.DateTimeField(_("asked at"), default=timezone.now, db_index=True)

    class Meta(OutboxFields.Meta):
        verbose_name = _("request for one's data")
        verbose_name_plural = _("requests for one's data")

    def __str__(self) -> str:
        return f"#{self.pk} {self.created_at:%Y-%m-%d %H:%M}"
