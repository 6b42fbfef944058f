"""The moderators' reminder: a periodic mail to the Moderators group saying how many letters wait."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.urls import reverse

from campaign.lib.outbox import render_mail

from ..models import Letter


def remind_moderators() -> int:
    """Mail every active member of the Moderators group how many letters wait, with a link to the queue.
    Returns how many mails were sent (none when nothing waits). Called by beat every
    LETTERS_REMINDER_INTERVAL_SECONDS; a reminder lost to a crash is simply sent at the next tick."""
    pending = Letter.objects.pending()
    waiting = pending.count()
    if not waiting:
        return 0
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name="Moderators")
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return 0
    queue_url = settings.SITE_URL + reverse("admin:letters_letter_changelist")
    context = {"waiting": waiting, "oldest": oldest, "queue_url": queue_url}
    template = "letters/mail/moderation_reminder"
    messages = [render_mail(template, context, [email], settings.LANGUAGE_CODE) for email in recipients]
    return get_connection().send_messages(messages) or 0
