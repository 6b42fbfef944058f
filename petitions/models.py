"""petitions."""
