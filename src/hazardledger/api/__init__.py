"""The HTTP server: OGC API – Features over a ledger, with roles. No HTTP outside this package."""
