"""Routers of the WMS API."""
