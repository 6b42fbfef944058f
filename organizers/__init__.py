"""The organizers' tools: the dashboard, exports, offline reports, the lists for the authority, and what partner
sites and open-data users read (the public totals JSON, the embedded counter)."""
