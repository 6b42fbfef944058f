"""The supporters' workflows, one module each, called alike by views, tasks and the organizers' dashboard.

- `posts`: a solidarity post started here, counted once per visitor, case and day (`count_post`), folded into
  the ledger by a periodic task (`fold_posts`).
- `next_step`: after an action, the one more the page proposes (`next_steps`).
- `data`: the person's own data: `ask_for_data_link`, `send_data_links`, `person_data`, and what the page does
  (`delete_signature`, `delete_letter`, `stop_news`, `export_data`); `forget_data_requests` (hourly).
- `share_image`: the image a link preview shows for a case without a photo, per language (`share_image_path`).
- `referrals`: signatures by channel and recruits per code, for the organizers' dashboard.

Nothing is re-exported here: import the module of the workflow you call.
"""
