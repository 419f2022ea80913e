"""The `pupns` command line: roster, staff, campaign, replay, audit and public-event subscribers."""
