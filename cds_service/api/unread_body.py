"""A refused request's body is read and thrown away after the answer, so that every client reads it.

A client that writes the whole body before reading (Python's http.client, many Java and .NET
clients) is still sending when the service answers 413 without reading the body. Closing the
socket with unread data in it makes the kernel reset the connection, and the client sees "connection
reset" instead of the 413 and its OperationOutcome. So once the answer is written, whatever the app
left unread is read and discarded, up to a bound (DISCARD_FACTOR times the body limit); beyond it the
connection is closed as before. The bytes are never looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DISCARD_FACTOR = 4  # a body up to four times SPINE_CDS_MAX_BODY_BYTES is drained after a refusal
CHUNK_BYTES = 256 * 1024


class _CountedInput:
    """The request body stream, counting what the app reads."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        """Read like the server's stream, counting the bytes."""
        data: bytes = self.stream.read() if size is None or size < 0 else self.stream.read(size)
        self.consumed += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        """Read a line like the server's stream, counting the bytes."""
        data: bytes = self.stream.readline() if size is None or size < 0 else self.stream.readline(size)
        self.consumed += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _AnswerThenDiscard:
    """The app's response; on close (after the server wrote it), the unread body is discarded."""

    def __init__(self, response: Iterable[bytes], discard: Callable[[], None]) -> None:
        self.response = response
        self.discard = discard

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        """Close the app's response, then read and drop what the client is still sending."""
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            self.discard()


def _unread_bytes(environ: dict[str, Any], counted: _CountedInput) -> int | None:
    """How much of the body is left to read: a number, -1 for "until the end", None for nothing."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = None
    if length is not None:
        left = length - counted.consumed
        return left if left > 0 else None
    # Without a length there is a body only when it is chunked, and its stream ends only when the
    # server says it does; otherwise reading on could wait for the client's next request.
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return -1 if chunked and environ.get("wsgi.input_terminated") else None


class DiscardUnreadBody:
    """WSGI middleware: after answering, drain the body the app did not read, up to `bound` bytes."""

    def __init__(self, wsgi_app: WsgiApp, bound: int) -> None:
        self.wsgi_app = wsgi_app
        self.bound = bound

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Run the app with a counted body stream; drain what it left once its answer is written."""
        stream = environ.get("wsgi.input")
        if stream is None:
            return self.wsgi_app(environ, start_response)
        counted = environ["wsgi.input"] = _CountedInput(stream)
        response = self.wsgi_app(environ, start_response)
        return _AnswerThenDiscard(response, lambda: self._discard(environ, counted))

    def _discard(self, environ: dict[str, Any], counted: _CountedInput) -> None:
        left = _unread_bytes(environ, counted)
        if left is None or left > self.bound:
            return  # nothing left, or more than is worth reading: the server closes the connection
        budget = self.bound if left < 0 else left
        try:
            while budget > 0:
                chunk = counted.stream.read(min(CHUNK_BYTES, budget))
                if not chunk:
                    return
                budget -= len(chunk)
        except (OSError, ValueError):
            return  # the client went away, or the stream is closed: nothing more to do
