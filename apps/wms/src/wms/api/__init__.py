"""The HTTP and WebSocket API of WMS."""
