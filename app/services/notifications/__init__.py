"""Notifications (CONTRACT §7): the outbox of changes, subscriptions, and the worker that finds
time-driven changes and delivers webhooks. docs/notifications.md is the operator's guide."""
