"""Hostile-input tests share the headless Chromium fixtures of tests/maps."""

from tests.maps.conftest import browser, offline_page  # noqa: F401 - pytest fixtures
