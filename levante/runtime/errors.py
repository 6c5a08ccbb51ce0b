"""The runtime's errors are the project's: see levante/errors.py."""
from levante.errors import BadRequest, Conflict, Forbidden, LevanteError, NotFound  # noqa: F401
