"""Business logic of WMS, independent of HTTP."""
