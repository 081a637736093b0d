"""Test helpers behind the plugin's fixtures: API, database, Redis events and WebSocket clients."""

from __future__ import annotations

from interlock.helpers.api import ApiClient
from interlock.helpers.database import DatabaseHelper
from interlock.helpers.events import EventListener, Subscription
from interlock.helpers.websocket import WebSocketClient, WebSocketFactory
from interlock.lifecycle import ClientClosed
from interlock.lifecycle import State as ClientState

__all__ = [
    "ApiClient",
    "ClientClosed",
    "ClientState",
    "DatabaseHelper",
    "EventListener",
    "Subscription",
    "WebSocketClient",
    "WebSocketFactory",
]
