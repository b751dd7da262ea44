"""POP3 adapter (RFC 1939, CAPA/PIPELINING RFC 2449, STLS RFC 2595, AUTH RFC 5034).

A small client of its own over a socket instead of ``poplib``: poplib's TLS defaults to an
unverified context (python/cpython#91826), it reads a RETR answer into memory without a bound
and it cannot pipeline. Layered as imapclient is, each module importing only those listed
before it:

* ``parser``: pure functions from bytes to values (status lines, LIST/UIDL/CAPA, stuffing);
* ``wire``: bounded line/body reads over anything socket-like (tests swap in a fake);
* ``session``: ``Pop3Session``, one logged-in mailbox (``PopMailbox``);
* ``connector``: ``Pop3Connector`` (``PopConnector``): TLS/STLS, network policy, login.

Every failure becomes one of the ``Remote*`` errors at the boundary. Error messages never
contain the password or token and cap what the server said at ``parser.TEXT_CAP`` characters.
"""

from mailport.adapters.pop3.connector import Pop3Connector
from mailport.adapters.pop3.session import Pop3Session
from mailport.adapters.pop3.wire import SocketLike

__all__ = ["Pop3Connector", "Pop3Session", "SocketLike"]
