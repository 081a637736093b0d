"""Billing: plans, subscriptions, invoices charged once, Stripe webhooks, refunds, dunning."""
