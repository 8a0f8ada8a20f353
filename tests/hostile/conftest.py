"""Hostile-input tests use the headless Chromium fixtures of tests/conftest.py."""
