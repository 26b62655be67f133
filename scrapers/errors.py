"""Exceptions shared by the client, the sources and the command line."""


class UserError(Exception):
    """Bad input from the command line: reported as one line, never as a traceback."""


class FetchError(Exception):
    """A request or download that failed for good; ``reason`` is a short stable code for the manifest."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status


class SourceError(Exception):
    """A source cannot go on (its API keeps failing or answers with an error); the others continue."""
