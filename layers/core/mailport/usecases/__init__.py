"""Use-cases: one function or class per thing a user can do."""
