"""Notifications service: contact addresses and the e-mail outbox (SMTP, retried until delivered)."""
