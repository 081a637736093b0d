"""Shared builders of the WMS suites."""
