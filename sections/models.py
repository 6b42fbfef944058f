"""The sections a hub follows and the snapshots of their totals."""
