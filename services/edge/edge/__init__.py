"""The public edge: HTTP API of SPEC §4 in front of the nameko services, with admission control."""
