"""Identity service: master roster, PNS and staff accounts, login, campaign window."""
