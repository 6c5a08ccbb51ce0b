"""Errors the runtime raises for bad requests; the API maps each to a status."""


class LevanteError(Exception):
    status = 500


class NotFound(LevanteError):
    status = 404


class BadRequest(LevanteError):
    status = 400


class Conflict(LevanteError):
    status = 409


class Forbidden(LevanteError):
    status = 403
