"""Pages for the people who report events: the public form an event's tally sheet links to, and the pages of
local groups (a school, a branch), whose members sign in to report their events and see their own totals.

Nothing here counts by itself: every report waits for an organizer's approval (organizers.offline_reports).
Members of a group see that group's reports and totals and nothing else; organizers see every group on the
dashboard and in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetConfirmView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from campaign.lib.abuse import RateLimit, client_ip, hit_rate_limit
from campaign.lib.pages import public_case
from campaign.models import Case, OfflineReport

from . import local_groups, offline_reports
from .forms import GroupEventReportForm, PublicEventReportForm


def _report_page(request: HttpRequest, case: Case, form: PublicEventReportForm | None, status: int = 200):
    return render(
        request, "organizers/event_report.html", {"case": case, "campaign": case.campaign, "form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
def event_report(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    """The link printed on an event's tally sheet: anyone who ran the event reports what it counted. The report
    waits for an organizer's approval; a member of one local group who is signed in reports for that group."""
    case = public_case(campaign, case)
    if request.method == "GET":
        return _report_page(request, case, PublicEventReportForm(case=case))
    # Every attempt counts against the address, before anything else is looked at.
    limit = RateLimit("event-report", client_ip(request), settings.EVENT_REPORT_RATE_LIMIT_PER_HOUR, 3600)
    if hit_rate_limit(limit):
        return render(request, "organizers/event_report_wait.html", {"case": case}, status=429)
    form = PublicEventReportForm(request.POST, case=case)
    if not form.is_valid():
        return _report_page(request, case, form, status=400)
    if form.suspicion():
        # A robot (the hidden field filled in, or sent faster than a person types): nothing is stored, and it
        # is told nothing it could learn from.
        return redirect("organizers:event-report-thanks", campaign=case.campaign.slug, case=case.slug)
    group = local_groups.only_group_of(request.user)
    offline_reports.record_offline_report(
        case=case,
        kind=form.cleaned_data["kind"],
        day=form.cleaned_data["day"],
        count=form.cleaned_data["count"],
        country=form.cleaned_data["country"],
        event_name=form.cleaned_data["event_name"],
        note=form.cleaned_data["note"],
        entered_by=request.user if request.user.is_authenticated else None,
        channel=OfflineReport.Channel.LOCAL_GROUP if group else OfflineReport.Channel.EVENT_LINK,
        local_group=group,
    )
    return redirect("organizers:event-report-thanks", campaign=case.campaign.slug, case=case.slug)


def event_report_thanks(request: HttpRequest, campaign: str, case: str) -> HttpResponse:
    case = public_case(campaign, case)
    return render(request, "organizers/event_report_thanks.html", {"case": case, "campaign": case.campaign})


# --- Local groups' own pages ------------------------------------------------------------------------------


def _members_only(view):
    """A member's pages: the groups' own sign-in page for an anonymous visitor; a group someone is not a
    member of does not exist for them (404, the same as no group at all)."""
    return never_cache(login_required(view, login_url="organizers:group-login"))


@_members_only
def group_home(request: HttpRequest) -> HttpResponse:
    groups = local_groups.groups_of(request.user)
    if len(groups) == 1:
        return redirect("organizers:group", slug=groups[0].slug)
    return render(request, "organizers/groups.html", {"groups": groups})


@_members_only
@require_http_methods(["GET", "POST"])
def group_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A group's totals (approved reports), its reports and what became of them, and the form to report an
    event: what its members see, and nothing else."""
    group = local_groups.group_for_member(request.user, slug)
    if group is None:
        raise Http404("No such group.")
    form = GroupEventReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        offline_reports.record_offline_report(
            case=form.cleaned_data["case"],
            kind=form.cleaned_data["kind"],
            day=form.cleaned_data["day"],
            count=form.cleaned_data["count"],
            country=form.cleaned_data["country"],
            event_name=form.cleaned_data["event_name"],
            note=form.cleaned_data["note"],
            entered_by=request.user,
            channel=OfflineReport.Channel.LOCAL_GROUP,
            local_group=group,
        )
        messages.success(request, _("Thank you: your report waits for an organizer, and counts once approved."))
        return redirect("organizers:group", slug=group.slug)
    reports = (
        OfflineReport.objects.current()
        .filter(local_group=group)
        .select_related("case", "case__campaign")
        .order_by("-entered_at")[:200]
    )
    context = {"group": group, "form": form, "reports": reports, **local_groups.group_totals(group)}
    return render(request, "organizers/group.html", context, status=400 if form.errors else 200)


class GroupLoginView(LoginView):
    template_name = "organizers/group_login.html"
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("organizers:groups")


class GroupPasswordView(PasswordResetConfirmView):
    """Where a new member chooses their password from the link an organizer gave them (and chooses a new one
    from a new link): the link works once."""

    template_name = "organizers/group_password.html"
    success_url = reverse_lazy("organizers:group-login")
    post_reset_login = False

    def form_valid(self, form):
        messages.success(self.request, _("Your password is set: sign in with it."))
        return super().form_valid(form)
