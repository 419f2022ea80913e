"""The verification service: confirming registrations and deciding on submitted forms."""
