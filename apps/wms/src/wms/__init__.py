"""WMS: the waste-management platform Interlock validates (customers, billing, pickups, routes)."""

__version__ = "0.1.0"
