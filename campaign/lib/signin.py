"""Staff sign-in: the second factor staff use when STAFF_TWO_FACTOR is on (django-otp, a code from an
authenticator app), on the admin and on every other staff page. Failed sign-ins are throttled by django-axes
(settings: "Staff sign-in").

With STAFF_TWO_FACTOR on, a session signed in without its second factor counts as nobody: the admin, the
organizers' pages and every permission check see an anonymous visitor, and the admin's sign-in page asks for
the password and the code together. `manage.py enrol_second_factor NAME` gives a staff member their code.

Loaded early (INSTALLED_APPS names AdminConfig): imports of models stay inside functions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.admin.sites import AdminSite
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def second_factor_missing(user) -> bool:
    """True when STAFF_TWO_FACTOR asks for a second factor this signed-in user has not given."""
    if not settings.STAFF_TWO_FACTOR or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    return not (is_verified and is_verified())


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware: with STAFF_TWO_FACTOR on, a user signed in without a second factor
    is anonymous for the rest of the request, wherever permissions are checked."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if settings.STAFF_TWO_FACTOR:
            signed_in = request.user

            def user():
                from django.contrib.auth.models import AnonymousUser

                return AnonymousUser() if second_factor_missing(signed_in) else signed_in

            request.user = SimpleLazyObject(user)
        return self.get_response(request)


class StaffAdminSite(AdminSite):
    """Django's admin site; with STAFF_TWO_FACTOR on, its sign-in asks for a code as well, and only users
    verified by one get in. Read at each request, so the setting can change without restarting."""

    @property
    def login_form(self):
        if not settings.STAFF_TWO_FACTOR:
            return None
        from .signin_forms import SecondFactorLoginForm

        return SecondFactorLoginForm

    @property
    def login_template(self):
        return "admin/login_second_factor.html" if settings.STAFF_TWO_FACTOR else None

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and not second_factor_missing(request.user)


class AdminConfig(DjangoAdminConfig):
    default_site = "campaign.lib.signin.StaffAdminSite"


def locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): a page in the admin's look that
    says for how long, in the staff member's language."""
    from django.contrib import admin
    from django.shortcuts import render

    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {**admin.site.each_context(request), "minutes": minutes}
    return render(request, "admin/locked_out.html", context, status=429)
