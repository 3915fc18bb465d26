"""The one exception type the command line turns into a single `error: ...` line."""


class UserError(Exception):
    """A problem the user can fix (a path, a locked or corrupt store, a missing key): its message
    is one line that names the file and the problem, and no traceback is shown."""
