"""Sections: one live count for the whole movement (a hub following other installations' totals) and cases
shared from one place (case packs). See docs/sections.md."""
