"""WHO is told and HOW: routing (Apprise YAML), templates, quiet hours, the outbox dispatcher.

Apprise is imported only inside `notifications.routing` functions, never at module import, so
the CLI pays for it only on `tousu notifications ...`.
"""
