"""The petition workflows, one module each, called alike by views, admin actions, tasks and commands.

- `signing`: `sign_petition`, the web request's whole job (one INSERT ... ON CONFLICT DO NOTHING, no broker, no
  SMTP); repeat mails to an address that signed already, new links by address, and `name_problem`, the check of
  a signer's name shared by the form and the paper import.
- `links`: the tokens in mails and what their pages do: `confirm_signature`, `remove_pending_signature`,
  `resend_link`, and `stop_news` (the outcome mail's link).
- `confirmations`: the confirmation outbox, `send_confirmations` (`SignatureMails` renders each mail).
- `outcome`: how the case turned out, `mail_outcome` then `send_outcome_mails`.
- `counting`: the rollup into the ledger, `count_signatures` (every few seconds) and `reconcile_signatures`
  (nightly).
- `invalidation`: staff take signatures out, one by one or in bulk (`invalidate_signatures`), erase them on
  request (`delete_signatures`) or clear their flags.
- `retention`: `forget_old_data`, the hourly forgetting of what is no longer needed, and the erasure of paper
  import reports.
- `paper`: organizers' CSV of paper sheets, `import_paper_signatures`.

Nothing is re-exported here: import the module of the workflow you call.
"""
