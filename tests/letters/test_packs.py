"""Letters packs, the letters' side (letters.services.packs): which letters a pack holds, exactly once per letter
and contact, given back when nothing was printed, and delivered (writers told) when it is handed over."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaign.lib.outbox import MailStatus
from campaign.models import ExportJob
from letters.models import FamilyContact, Letter, LetterPack, LetterPackItem
from letters.services import digests, packs
from tests.conftest import run_in_threads


@pytest.fixture
def post_contact(case):
    return FamilyContact.objects.create(
        case=case, name="Brother of Khaled", delivery="post", postal_address="Alger", language="fr"
    )


def new_job(case, organizer) -> ExportJob:
    return ExportJob.objects.create(requested_by=organizer, kind="letters_pack", format="pdf", case=case)


def test_a_pack_holds_the_approved_letters_not_yet_printed_for_the_contact(
    post_contact, organizer, approved_letter, make_letter
):
    first = [approved_letter() for _ in range(3)]
    make_letter()  # pending: never printed
    pack = packs.start_letters_pack(post_contact.pk, new_job(post_contact.case, organizer), organizer)
    assert set(pack.letters.values_list("pk", flat=True)) == {x.pk for x in first}
    assert (pack.status, pack.letter_count) == ("building", 3)
    packs.mark_pack_ready(pack.export_job_id)
    later = approved_letter()
    second = packs.start_letters_pack(post_contact.pk, new_job(post_contact.case, organizer), organizer)
    assert list(second.letters.values_list("pk", flat=True)) == [later.pk]


def test_it_refuses_a_contact_not_reached_by_post_a_pack_in_progress_and_nothing_to_print(
    post_contact, family_contact, organizer, approved_letter
):
    case = post_contact.case
    with pytest.raises(packs.PackRefused, match="No approved letter waits"):
        packs.start_letters_pack(post_contact.pk, new_job(case, organizer), organizer)
    approved_letter()
    with pytest.raises(packs.PackRefused, match="not reached on paper"):
        packs.start_letters_pack(family_contact.pk, new_job(case, organizer), organizer)
    packs.start_letters_pack(post_contact.pk, new_job(case, organizer), organizer)
    approved_letter()
    with pytest.raises(packs.PackRefused, match="being prepared"):
        packs.start_letters_pack(post_contact.pk, new_job(case, organizer), organizer)


def test_the_database_refuses_one_letter_twice_for_one_contact(post_contact, organizer, approved_letter):
    letter = approved_letter()
    pack = packs.start_letters_pack(post_contact.pk, new_job(post_contact.case, organizer), organizer)
    other = LetterPack.objects.create(contact=post_contact, status="ready")
    with pytest.raises(IntegrityError), transaction.atomic():
        LetterPackItem.objects.create(pack=other, letter=letter, contact=post_contact)
    assert pack.items.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_organizers_asking_at_once_get_one_pack(post_contact, organizer, approved_letter):
    for _ in range(4):
        approved_letter()
    jobs = [new_job(post_contact.case, organizer) for _ in range(4)]

    def ask(i: int):
        try:
            return packs.start_letters_pack(post_contact.pk, jobs[i], organizer).pk
        except packs.PackRefused as refusal:
            return str(refusal)

    def ask_in_transaction(i: int):
        with transaction.atomic():
            return ask(i)

    results = run_in_threads(ask_in_transaction, 4)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert LetterPackItem.objects.count() == 4


def test_a_failed_pack_gives_its_letters_back(post_contact, organizer, approved_letter):
    letters = [approved_letter() for _ in range(2)]
    job = new_job(post_contact.case, organizer)
    packs.start_letters_pack(post_contact.pk, job, organizer)
    assert packs.give_back_pack(job.pk) == 1
    assert LetterPack.objects.get().status == "failed"
    assert set(Letter.objects.not_yet_printed_for(post_contact)) == set(letters)
    with pytest.raises(packs.PackGone):
        packs.mark_pack_ready(job.pk)


def test_a_pack_left_building_past_its_lease_gives_its_letters_back_and_fails_its_export(
    post_contact, organizer, approved_letter
):
    approved_letter()
    job = new_job(post_contact.case, organizer)
    ExportJob.objects.filter(pk=job.pk).update(status="running")
    pack = packs.start_letters_pack(post_contact.pk, job, organizer)
    assert packs.resolve_stale_packs() == 0  # within its lease
    # Waiting for a worker, it has two hours; once a worker started it, ten minutes without progress.
    assert packs.resolve_stale_packs(now=timezone.now() + packs.PACK_LEASE * 2) == 0
    packs.renew_lease(pack.pk)  # what the worker does as it starts and after every part
    later = timezone.now() + packs.PACK_LEASE + datetime.timedelta(seconds=1)
    assert packs.resolve_stale_packs(now=later) == 1
    pack.refresh_from_db()
    job.refresh_from_db()
    assert (pack.status, job.status) == ("failed", "failed")
    assert Letter.objects.not_yet_printed_for(post_contact).count() == 1
    with pytest.raises(packs.PackGone):
        packs.renew_lease(pack.pk)  # a slow worker still alive stops


def test_a_handover_delivers_the_letters_and_queues_the_writers_notices_once(post_contact, organizer, approved_letter):
    told = approved_letter(writer_email="ana@example.org", writer_consent=True)
    silent = approved_letter()
    job = new_job(post_contact.case, organizer)
    pack = packs.start_letters_pack(post_contact.pk, job, organizer)
    day = datetime.date(2027, 1, 10)
    assert not packs.record_handover(pack.pk, day=day, note="by hand", user=organizer)  # not ready yet
    packs.mark_pack_ready(job.pk)
    assert packs.record_handover(pack.pk, day=day, note="by hand to his brother", user=organizer)
    assert not packs.record_handover(pack.pk, day=day, note="again", user=organizer)
    pack.refresh_from_db()
    assert (pack.status, pack.handed_over_on, pack.handover_note) == ("handed_over", day, "by hand to his brother")
    told.refresh_from_db()
    silent.refresh_from_db()
    assert told.mail_status == MailStatus.PENDING and told.delivered_at is not None
    assert silent.mail_status == MailStatus.NONE and silent.delivered_at is not None


def test_a_ready_pack_said_not_printed_gives_its_letters_back(post_contact, organizer, approved_letter):
    approved_letter()
    job = new_job(post_contact.case, organizer)
    pack = packs.start_letters_pack(post_contact.pk, job, organizer)
    assert not packs.cancel_pack(pack.pk)  # still building
    packs.mark_pack_ready(job.pk)
    assert packs.cancel_pack(pack.pk)
    assert not packs.cancel_pack(pack.pk)
    assert Letter.objects.not_yet_printed_for(post_contact).count() == 1


def test_contacts_reached_on_paper_only_get_no_digest_and_both_get_both(case, approved_letter):
    on_paper = FamilyContact.objects.create(case=case, name="Prison", delivery="post", postal_address="El Harrach")
    both = FamilyContact.objects.create(
        case=case, name="Mother", delivery="both", email="mother@example.org", postal_address="Alger"
    )
    approved_letter()
    due = digests.due_family_contact_ids()
    assert both.pk in due and on_paper.pk not in due
    assert digests.send_family_digest(on_paper.pk, force=True) is None


def test_a_contact_reached_on_paper_needs_an_address_and_by_email_an_email(case):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        FamilyContact(case=case, name="X", delivery="both").full_clean()
    assert set(error.value.message_dict) >= {"email", "postal_address"}
    FamilyContact(case=case, name="X", delivery="post", postal_address="Alger").full_clean()


def test_organizers_add_a_contact_reached_on_paper_in_the_admin_and_are_told_what_is_missing(organizer_client, case):
    from django.urls import reverse

    url = reverse("admin:letters_familycontact_add")
    data = {
        "case": case.pk,
        "name": "Khaled in El Harrach",
        "delivery": "post",
        "email": "",
        "postal_address": "",
        "language": "ar",
        "cadence": "weekly",
        "next_digest_at_0": "2026-12-01",
        "next_digest_at_1": "10:00:00",
        "digests-TOTAL_FORMS": "0",
        "digests-INITIAL_FORMS": "0",
    }
    response = organizer_client.post(url, data)
    assert response.status_code == 200
    assert "A contact reached on paper needs a postal address." in response.content.decode()
    response = organizer_client.post(url, {**data, "postal_address": "Prison d'El Harrach\nAlger"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert FamilyContact.objects.get(name="Khaled in El Harrach").by_post


def test_moderators_attach_translations_and_organizers_read_packs(
    moderator, organizer_client, approved_letter, post_contact, organizer
):
    from django.test import Client
    from django.urls import reverse

    from letters.models import LetterTranslation

    moderator_client = Client()
    moderator_client.force_login(moderator)

    letter = approved_letter(language="en", text="Stay strong")
    add = reverse("admin:letters_lettertranslation_add")
    page = moderator_client.get(reverse("admin:letters_letter_change", args=[letter.pk])).content.decode()
    assert f"{add}?letter={letter.pk}" in page
    response = moderator_client.post(add, {"letter": letter.pk, "language": "fr", "text": "Tiens bon"})
    assert response.status_code == 302
    translation = LetterTranslation.objects.get()
    assert (translation.letter, translation.translated_by.username) == (letter, "moderator")
    assert organizer_client.get(add).status_code == 403
    packs.start_letters_pack(post_contact.pk, new_job(post_contact.case, organizer), organizer)
    response = organizer_client.get(reverse("admin:letters_letterpack_changelist"))
    assert response.status_code == 200 and "Brother of Khaled" in response.content.decode()
