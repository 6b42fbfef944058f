"""What staff may look up in the admin: a field hidden from a group is not theirs to filter on either.

Django's admin takes a lookup on any field from the query string, not only the declared filters: with
`?email__regex=^a` a staff member who never sees addresses could still learn them a character at a time. An
admin whose model holds personal data inherits `PersonalDataAdmin` and names the fields; for everyone but
superusers, a lookup that reaches one of them (on the model or across a relation) is refused with a 400.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

# Names of fields that hold a supporter's personal data wherever they appear, also reached across a relation
# (`?signature__email__regex=`): addresses, network addresses, mail errors (which quote the address),
# consent, the language of a writer's page.
PERSONAL_FIELD_NAMES = frozenset(
    {
        "email",
        "email_normalised",
        "email_marker",
        "ip",
        "mail_last_error",
        "last_error",
        "writer_email",
        "writer_consent",
        "writer_language",
        "address",
        "postal_address",
    }
)


class PersonalDataAdmin(admin.ModelAdmin):
    """A ModelAdmin whose model (or a model it reaches) holds personal data. `personal_fields` adds names to
    PERSONAL_FIELD_NAMES for this admin."""

    personal_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if request is not None and request.user.is_superuser:
            return super().lookup_allowed(lookup, value, request)
        hidden = PERSONAL_FIELD_NAMES | set(self.personal_fields)
        if any(part in hidden for part in lookup.split(LOOKUP_SEP)):
            return False
        return super().lookup_allowed(lookup, value, request)
