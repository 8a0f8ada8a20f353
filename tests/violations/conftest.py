"""Fixtures shared with the patrol tests (a workspace with patrol.toml)."""

from tests.patrol.conftest import ws  # noqa: F401
