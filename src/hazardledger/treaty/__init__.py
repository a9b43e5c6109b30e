"""Amended Protocol II Article 13 and Ottawa Convention Article 7 reports, drafted from the
ledger's records (:mod:`.forms`, :mod:`.parts`)."""
