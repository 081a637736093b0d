"""Security: IP verdicts from the threat feeds, threat events and abuse reports."""
