"""Integration fixtures live in tests/conftest.py (the Dovecot fixture is shared with e2e)."""
