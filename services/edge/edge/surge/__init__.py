"""Surge control: admission (adaptive limit), the waiting line and its tickets, the waiting page, rate limits."""
