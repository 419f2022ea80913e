"""Everything of the notifications service with I/O: read models and the retry queue, the SMTP mailer."""
