"""Why a section's figures were refused or could not be fetched, in words for the organizer (translated).

The code is what sections.services.http and sections.services.documents raise and what a section row keeps;
the detail says where (a field, a line, a status code) and is shown as it is.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "timeout": _("It did not answer in time."),
    "unreachable": _("It could not be reached."),
    "too_large": _("Its answer is larger than the hub reads."),
    "redirect": _("It sent the hub to another address; the hub only calls the address set for the section."),
    "http_status": _("It answered with an error."),
    "address": _("Its address is not a web address the hub can call."),
    "invalid_json": _("Its answer is not valid JSON."),
    "malformed": _("Its figures are not in the documented format."),
    "version": _("Its figures are in another version of the format than this hub reads."),
    "not_aggregate": _("Its figures carry more than totals (a field the format does not have): all were refused."),
    "bad_number": _("A count is not a whole number, is negative or is too large to be true."),
    "inconsistent": _("Its totals do not add up."),
    "unknown_kind": _("It names a kind of action this hub does not know."),
    "unknown_country": _("It names a country this hub does not know."),
    "unknown_case": _("It names cases this hub does not have in a campaign it follows (their keys differ?)."),
    "revoked_token": _("It pushed figures with a revoked token: they were refused."),
    "internal": _("The hub failed to read its figures; an administrator can look in the worker's log."),
}


def describe(code: str) -> str:
    """The organizer's words for a problem code ("" for none)."""
    if not code:
        return ""
    return str(MESSAGES.get(code, MESSAGES["internal"]))
