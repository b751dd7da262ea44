"""IMAP source adapter on imapclient: verified TLS, read-only access (EXAMINE, BODY.PEEK),
bounded memory (chunked FETCH, capped literals), library errors translated to ``Remote*``.

Layered as imapclient is, each module importing only those listed before it:

* ``parser``: pure functions from responses to values (LIST, FETCH, EXAMINE, server text)
  and the UID sets and chunk plans commands are built from;
* ``wire``: imaplib's connection with capped literals, bounded untagged responses and strict
  STARTTLS, imapclient on it, and the translation of their errors into ``Remote*``;
* ``session``: ``ImapSession``, one logged-in mailbox (``ImapMailbox``);
* ``connector``: ``ImapConnector``: TLS/STARTTLS, network policy, login (incl. XOAUTH2).
"""

from mailport.adapters.imap.connector import ImapConnector
from mailport.adapters.imap.session import ImapSession

__all__ = ["ImapConnector", "ImapSession"]
