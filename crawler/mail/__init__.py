"""Alert e-mail: composition from Jinja2 templates and delivery transports (SMTP, outbox, Apprise).

Framework-free; the alert ledger decides *when* to send and retries on temporary failures.
"""
from crawler.mail.compose import (ArticleView, alert_subject, compose_alert, header_safe,
                                    message_id)
from crawler.mail.transport import (AppriseTransport, OutboxTransport, SMTPTransport, Transport,
                                      TransportError, apprise_available, transport_for,
                                      transport_from_settings)

__all__ = ["ArticleView", "compose_alert", "alert_subject", "header_safe", "message_id",
           "Transport", "TransportError", "SMTPTransport", "OutboxTransport", "AppriseTransport",
           "apprise_available", "transport_for", "transport_from_settings"]
