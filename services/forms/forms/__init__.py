"""The forms service: a PNS's re-registration form, section by section, up to verification."""
