"""Letters packs: the approved letters of a case printed for a family contact reached by post (a family
without email, a person in prison), exactly once per letter and contact, like the digests.

A pack is an export (organizers/exports/letters_pack.py writes its PDF through the export mechanism, with
its progress bar and download); this module keeps its letters and its status:

1. `start_letters_pack`, in the transaction that creates the export job, under the contact's row lock:
   the letters no pack of this contact holds are recorded in a `LetterPack` marked `building` with a lease
   long enough to wait for a worker (LetterPackItem is unique per contact and letter). A second request
   meanwhile is refused.
2. The worker writes the file, renewing the lease as it goes (`renew_lease`, which also tells it when the
   pack was given up meanwhile).
3. `mark_pack_ready` runs in the transaction that marks the export done: the file is offered only if the
   pack is still `building`. `give_back_pack` runs when the export failed: the letters go back to the contact.

A pack left `building` past its lease (its worker was killed) never offered a file, since the file and the
`ready` mark are published together: `resolve_stale_packs` gives its letters back and fails its export, so
no letter is lost and none is printed twice. A pack is *printed* once an organizer records its hand-over
(`record_handover`): its letters are then delivered and the writers who asked are told, as after a digest.
"""

from __future__ import annotations

import datetime
import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaign.models import ExportJob

from ..models import FamilyContact, Letter, LetterPack, LetterPackItem
from .notices import queue_delivery_notices

log = logging.getLogger(__name__)

# Most letters in one pack (a booklet of about as many pages); the rest go in the next pack.
PACK_MAX_LETTERS = 1000
# How long a worker may go without reporting progress before its pack is taken for dead. The worker reports
# after every few letters (organizers/exports/pdf.py renders them in parts), well within this.
PACK_LEASE = datetime.timedelta(minutes=10)
# How long a pack may wait for a worker to start it: a queue behind other exports, or a message whose worker
# died before starting it, which the broker gives to another worker after its visibility timeout (an hour).
PACK_QUEUE_LEASE = datetime.timedelta(hours=2)


class PackRefused(Exception):
    """The pack cannot be started; the message says why, in the organizer's language."""


class PackGone(Exception):
    """The pack is no longer being built (its lease ran out, or it was given up): its file must not be offered."""


def start_letters_pack(contact_id: int, job: ExportJob, user: AbstractBaseUser | None) -> LetterPack:
    """Record the approved letters of the contact that no pack of it holds in a new pack being built by `job`.

    Call inside the transaction that creates `job` (organizers.exports.letters_pack.request_letters_pack):
    if the job is not committed, neither is the pack. Raises PackRefused when the contact is not reached by
    post, a pack of this contact is being built, or no letter waits."""
    from django.utils.translation import gettext as _

    contact = FamilyContact.objects.select_for_update().filter(pk=contact_id).first()
    if contact is None or not contact.by_post:
        raise PackRefused(_("This family contact is not reached on paper: change how they are reached first."))
    resolve_stale_packs(contact.packs.all())
    if contact.packs.filter(status=LetterPack.Status.BUILDING).exists():
        raise PackRefused(_("A pack for this contact is being prepared: wait for it, then ask again."))
    letters = list(
        Letter.objects.not_yet_printed_for(contact)
        .order_by("moderated_at", "pk")
        .values_list("pk", flat=True)[:PACK_MAX_LETTERS]
    )
    if not letters:
        raise PackRefused(_("No approved letter waits to be printed for this contact."))
    pack = LetterPack.objects.create(
        contact=contact,
        export_job=job,
        status=LetterPack.Status.BUILDING,
        building_until=timezone.now() + PACK_QUEUE_LEASE,
        letter_count=len(letters),
        created_by=user,
    )
    LetterPackItem.objects.bulk_create(
        LetterPackItem(pack=pack, letter_id=letter_id, contact=contact) for letter_id in letters
    )
    return pack


def pack_for_job(job_id: int) -> LetterPack:
    return LetterPack.objects.select_related("contact__case__campaign", "export_job").get(export_job_id=job_id)


def pack_letters(pack: LetterPack) -> QuerySet[Letter]:
    """The pack's letters in the order they are printed, with their translations."""
    return Letter.objects.filter(pack_items__pack=pack).order_by("moderated_at", "pk").prefetch_related("translations")


def renew_lease(pack_id: int) -> None:
    """The worker building the pack is alive: extend its lease. Raises PackGone when the pack was given up
    meanwhile (its lease ran out and `resolve_stale_packs` gave its letters back): the worker stops."""
    renewed = LetterPack.objects.filter(pk=pack_id, status=LetterPack.Status.BUILDING).update(
        building_until=timezone.now() + PACK_LEASE
    )
    if not renewed:
        raise PackGone(f"letters pack {pack_id} is no longer being built")


def mark_pack_ready(job_id: int) -> None:
    """The pack's file is written: call in the transaction that marks its export done, so that the file is
    offered if and only if the pack is ready. Raises PackGone when the pack was given up meanwhile."""
    ready = LetterPack.objects.filter(export_job_id=job_id, status=LetterPack.Status.BUILDING).update(
        status=LetterPack.Status.READY, building_until=None, ready_at=timezone.now()
    )
    if not ready:
        raise PackGone(f"the letters pack of export {job_id} is no longer being built")


def give_back_pack(job_id: int) -> int:
    """The pack's export failed (a full disk, a fault): its letters go back to the contact, for the next
    pack. Returns how many packs were given back (0 or 1)."""
    with transaction.atomic():
        packs = list(
            LetterPack.objects.select_for_update().filter(export_job_id=job_id, status=LetterPack.Status.BUILDING)
        )
        for pack in packs:
            LetterPackItem.objects.filter(pack=pack).delete()
        LetterPack.objects.filter(pk__in=[p.pk for p in packs]).update(
            status=LetterPack.Status.FAILED, building_until=None
        )
    return len(packs)


def resolve_stale_packs(packs: QuerySet[LetterPack] | None = None, now: datetime.datetime | None = None) -> int:
    """Give back the letters of the packs (of `packs`, default all) still `building` after their lease: their
    worker died before it published the file, so nothing was printed. Their export is marked failed, so that a
    late delivery of the task does not build it again. Called when a pack is asked for and hourly by beat."""
    now = now or timezone.now()
    stale = (packs if packs is not None else LetterPack.objects.all()).filter(
        status=LetterPack.Status.BUILDING, building_until__lte=now
    )
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        gone = list(
            LetterPack.objects.select_for_update()
            .filter(pk__in=ids, status=LetterPack.Status.BUILDING, building_until__lte=now)
            .values_list("pk", "export_job_id")
        )
        LetterPackItem.objects.filter(pack_id__in=[pk for pk, _ in gone]).delete()
        LetterPack.objects.filter(pk__in=[pk for pk, _ in gone]).update(
            status=LetterPack.Status.FAILED, building_until=None
        )
        ExportJob.objects.filter(
            pk__in=[job for _, job in gone if job], status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
        ).update(status=ExportJob.Status.FAILED, error="WorkerLost: the pack's worker stopped", finished_at=now)
    if gone:
        log.warning("Letters packs %s were left being prepared past their lease: their letters were given back", gone)
    return len(gone)


def cancel_pack(pack_id: int) -> bool:
    """An organizer says a ready pack was never printed (the file expired unread, the wrong paper): its
    letters go back to the contact, for the next pack. Returns whether it was cancelled."""
    with transaction.atomic():
        pack = LetterPack.objects.select_for_update().filter(pk=pack_id, status=LetterPack.Status.READY).first()
        if pack is None:
            return False
        LetterPackItem.objects.filter(pack=pack).delete()
        LetterPack.objects.filter(pk=pack.pk).update(status=LetterPack.Status.CANCELLED)
    return True


def record_handover(pack_id: int, *, day: datetime.date, note: str, user: AbstractBaseUser | None) -> bool:
    """An organizer records that a ready pack was handed over or posted ("delivered by hand on 10 January to
    his brother"): its letters are delivered, and the writers who asked are queued for their notice, as
    after a digest (`notices.send_delivery_notices`). Once only: returns False when the pack was not ready
    (handed over already, not built, cancelled)."""
    now = timezone.now()
    with transaction.atomic():
        recorded = LetterPack.objects.filter(pk=pack_id, status=LetterPack.Status.READY).update(
            status=LetterPack.Status.HANDED_OVER,
            handed_over_on=day,
            handover_note=note,
            handover_recorded_by=user,
            handover_recorded_at=now,
        )
        if not recorded:
            return False
        ids = list(LetterPackItem.objects.filter(pack_id=pack_id).values_list("letter_id", flat=True))
        queue_delivery_notices(ids, now)
    return True
