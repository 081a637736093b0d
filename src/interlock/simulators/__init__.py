"""Stateful HTTP simulators of external APIs, one module a service, served by one host process."""

from __future__ import annotations

import importlib

from interlock.errors import ConfigError
from interlock.simulators.base import Simulator
from interlock.simulators.faults import FaultRule, parse_fault_spec

__all__ = ["REGISTRY", "FaultRule", "Simulator", "load_simulator", "parse_fault_spec"]

#: service name -> "module:class"; imported only when a stack asks for the service
REGISTRY: dict[str, str] = {
    "stripe": "interlock.simulators.stripe:StripeSimulator",
    "sendgrid": "interlock.simulators.sendgrid:SendGridSimulator",
    "twilio": "interlock.simulators.twilio:TwilioSimulator",
    "samsara": "interlock.simulators.samsara:SamsaraSimulator",
    "airtable": "interlock.simulators.airtable:AirtableSimulator",
    "google": "interlock.simulators.google:GoogleMapsSimulator",
    "mapbox": "interlock.simulators.mapbox:MapboxSimulator",
    "virustotal": "interlock.simulators.virustotal:VirusTotalSimulator",
    "abuseipdb": "interlock.simulators.abuseipdb:AbuseIPDBSimulator",
    "misp": "interlock.simulators.misp:MISPSimulator",
    "greynoise": "interlock.simulators.greynoise:GreyNoiseSimulator",
    "otx": "interlock.simulators.otx:OTXSimulator",
}


def load_simulator(name: str) -> type[Simulator]:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"no simulator named {name!r}", hint=f"available: {', '.join(sorted(REGISTRY))}"
        ) from None
    module_name, _, class_name = target.partition(":")
    cls: type[Simulator] = getattr(importlib.import_module(module_name), class_name)
    return cls
