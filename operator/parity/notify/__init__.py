"""Drift notifications: decide (events), build (payload), send (delivery) and queue (dispatcher),
never in a reconcile's path. See docs/drift.md#notifications."""
