"""Local groups: a school, a branch or a club whose members report their own events and see their own totals.

Organizers create the groups and their members' accounts in the admin (`create_member`, which gives a link to
choose a password, shown once); members sign in on the groups' own sign-in page, never the admin's. What a
group reported counts once an organizer approves it (organizers.offline_reports).
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from campaign.models import ActionKind, Case, LocalGroup, OfflineReport


def groups_of(user: AbstractBaseUser | AnonymousUser) -> list[LocalGroup]:
    """The active groups this person is a member of (none for an anonymous visitor)."""
    if not user.is_authenticated:
        return []
    return list(LocalGroup.objects.filter(members=user, is_active=True).order_by("name"))


def only_group_of(user: AbstractBaseUser | AnonymousUser) -> LocalGroup | None:
    """The group a signed-in member reports for, when they belong to exactly one."""
    groups = groups_of(user)
    return groups[0] if len(groups) == 1 else None


def group_for_member(user: AbstractBaseUser | AnonymousUser, slug: str) -> LocalGroup | None:
    """The active group `slug` if this person is one of its members: the one check every group page makes."""
    if not user.is_authenticated:
        return None
    return LocalGroup.objects.filter(slug=slug, members=user, is_active=True).first()


def group_totals(group: LocalGroup) -> dict:
    """What a group reported and an organizer approved, per case and kind, and what still waits."""
    by_case: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        OfflineReport.objects.counted()
        .filter(local_group=group)
        .values("case_id", "kind")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        by_case[row["case_id"]][row["kind"]] = row["n"]
    cases = {c.pk: c for c in Case.objects.filter(pk__in=by_case).select_related("campaign")}
    labels = dict(ActionKind.choices)
    rows = [
        {
            "case": cases[pk],
            "by_kind": [(labels.get(kind, kind), n) for kind, n in sorted(kinds.items())],
            "total": sum(kinds.values()),
        }
        for pk, kinds in by_case.items()
    ]
    rows.sort(key=lambda r: (r["case"].campaign.opens_at, r["case"].display_order), reverse=True)
    waiting = OfflineReport.objects.current().filter(local_group=group, status=OfflineReport.Status.PENDING)
    return {
        "rows": rows,
        "total": sum(r["total"] for r in rows),
        "waiting": waiting.aggregate(reports=Count("pk"), actions=Sum("count")),
    }


def all_group_totals() -> list[dict]:
    """Every group with its approved total and what waits for approval: the organizers' dashboard (one query)."""
    approved = Q(reports__is_current=True, reports__status=OfflineReport.Status.APPROVED)
    pending = Q(reports__is_current=True, reports__status=OfflineReport.Status.PENDING)
    groups = LocalGroup.objects.annotate(
        approved=Sum("reports__count", filter=approved),
        waiting=Count("reports", filter=pending),
        members_count=Count("members", distinct=True),
    ).order_by("name")
    return [{"group": g, "total": g.approved or 0, "waiting": g.waiting, "members": g.members_count} for g in groups]


@transaction.atomic
def create_member(group: LocalGroup, *, username: str, email: str = "", name: str = "") -> tuple[object, str]:
    """Create an account for a member of `group` (never staff, no permission: it sees its groups' pages only)
    and return it with the path of the page where they choose their password. The organizer passes the link
    on; it works once, and for PASSWORD_RESET_TIMEOUT seconds. Raises ValidationError for a taken name."""
    users = get_user_model()
    username = username.strip()
    if not username:
        raise ValidationError(_("Choose a user name."))
    if users.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("This user name is taken: choose another."))
    first, _space, last = name.strip().partition(" ")
    user = users.objects.create_user(username=username, email=email.strip(), first_name=first, last_name=last)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    group.members.add(user)
    return user, password_link(user)


def password_link(user: AbstractBaseUser) -> str:
    """The path of the page where a member chooses a (new) password; it stops working once used."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse(
        "organizers:group-password", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)}
    )
