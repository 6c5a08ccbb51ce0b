"""``std.email``: send an e-mail message through an SMTP server.

Same parameters and behaviour as Mistral's ``std.email``:

* ``smtp_server`` is ``host`` or ``host:port`` (port 25 by default);
* with ``smtp_password`` the action switches to TLS (STARTTLS) and logs in as
  ``from_addr``; without it the message goes in plain SMTP with no login;
* ``to_addrs``, ``cc_addrs`` and ``bcc_addrs`` are lists (a comma-separated
  string works too); Bcc recipients get the message but appear in no header;
* ``subject`` and ``body`` default to ``<No subject>`` and ``<No body>``;
  with ``html_body`` the message is ``multipart/alternative`` (text and HTML);
* the result is null; an SMTP or network failure fails the action.

Egress policy (``levante.egress``, as std.http): the SMTP server is connected
to only at an address the policy allows. Its name is resolved once, every
address is checked, and the socket is opened to that checked address. A
refusal fails the action with the policy's message, naming the denied range
and the setting.
"""
from __future__ import annotations

import logging
import smtplib
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from mistral_lib import actions
from mistral_lib.exceptions import ActionException

from levante import egress

log = logging.getLogger("levante.actions.email")

SMTP_TIMEOUT = 60.0


class PolicySMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose connection goes through the egress policy."""

    def _get_socket(self, host, port, timeout):
        if timeout is not None and not timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        return egress.connect(host, port, timeout,
                              what=f"Refused to connect to SMTP server {host}:{port}")


def address_list(value: Any) -> list[str]:
    """A list of addresses from a list, a tuple or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = [str(value)]
    return [a.strip() for a in items if a and a.strip()]


class SendEmailAction(actions.Action):
    """Sends an e-mail message through the SMTP server ``smtp_server``.

    With ``smtp_password``, the connection switches to TLS (STARTTLS) and logs
    in as ``from_addr``. ``html_body`` adds an HTML alternative to ``body``.
    """

    def __init__(self, from_addr, to_addrs, smtp_server, reply_to=None, cc_addrs=None,
                 bcc_addrs=None, smtp_password=None, subject=None, body=None, html_body=None):
        self.sender = from_addr
        self.to = address_list(to_addrs)
        self.cc = address_list(cc_addrs)
        self.bcc = address_list(bcc_addrs)
        self.reply_to = address_list(reply_to)
        self.smtp_server = smtp_server
        self.password = smtp_password
        self.subject = subject or "<No subject>"
        self.body = body or "<No body>"
        self.html_body = html_body

    def message(self) -> EmailMessage:
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = str(self.subject)
        msg["From"] = str(self.sender)
        msg["To"] = ", ".join(self.to)
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        if self.reply_to:
            msg["Reply-To"] = ", ".join(self.reply_to)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain="levante")
        msg.set_content(str(self.body))
        if self.html_body is not None:
            msg.add_alternative(str(self.html_body), subtype="html")
        return msg

    def run(self, context):
        recipients = self.to + self.cc + self.bcc
        if not recipients:
            raise ActionException("Failed to send an email message: no recipient given")
        log.info("Sending email message [from=%s, to=%s, cc=%s, bcc=%s, subject=%s, using smtp=%s]",
                 self.sender, self.to, self.cc, self.bcc, self.subject, self.smtp_server)
        try:
            data = self.message().as_bytes()
            # A ``host:port`` string is split by smtplib itself.
            with PolicySMTP(str(self.smtp_server), timeout=SMTP_TIMEOUT) as smtp:
                if self.password is not None:
                    # Switch to TLS before sending the password (RFC 3207).
                    smtp.ehlo()
                    smtp.starttls()
                    smtp.ehlo()
                    smtp.login(str(self.sender), str(self.password))
                refused = smtp.sendmail(str(self.sender), recipients, data)
        except egress.EgressRefused as e:       # as std.http's refusal: the policy's message
            raise ActionException(str(e)) from None
        except (smtplib.SMTPException, OSError, ValueError) as e:
            raise ActionException(f"Failed to send an email message: {e}")
        if refused:
            log.warning("email: some recipients were refused: %s", refused)
        return None
