"""PUPNS shared library: event store, messaging, auth, config and the error envelope."""
