"""The letters' workflows, one module per workflow. Views, admin actions, tasks and commands import the module
they need (`from letters.services import moderation`) and call one function of it; nothing is re-exported here.

- `screening`: what a letter's text is reduced to (`normalise_text`, `text_fingerprint`) and the pre-screen's
  flags (`screen_letter`).
- `writing`: `submit_letter`, a supporter's letter stored pending, screened.
- `moderation`: a moderator's claims (`claim_letter`, `claim_next_letter`, `release_claim`), decisions
  (`approve_letters`, `reject_letters`) and the nightly recount of the ledger (`reconcile_letter_tallies`).
- `digests`: the family digests (`send_due_digests`, `send_family_digest`, `resend_uncertain_digest`) and
  the families' private links to drawings (`image_link_token`, `letter_for_image_token`).
- `notices`: `send_delivery_notices`, writers told their message was delivered, then forgotten.
- `reminders`: `remind_moderators`, the Moderators group told how many letters wait.
"""
