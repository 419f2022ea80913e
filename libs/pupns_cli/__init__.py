"""The `pupns` command line: roster, staff, campaign, replay and audit tasks."""
