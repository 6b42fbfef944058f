"""Every kind of export: the mechanism (base.py) and the kinds registered with it (totals.py, signatures.py)."""
