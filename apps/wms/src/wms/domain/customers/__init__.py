"""Customers: onboarding, and every notice they are sent."""
