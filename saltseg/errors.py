"""The one exception type users see: a clear, one-line message naming the file and the problem."""


class SaltsegError(Exception):
    """A user-facing error; the CLI and workflow scripts print it as one line and exit non-zero."""
