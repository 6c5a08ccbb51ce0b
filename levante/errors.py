"""Levante's error classes: one root, an HTTP status per class.

A leaf module: every layer may raise these, and the API renders any of them
with Mistral's error body and the class's status. Raise the most specific
class; add one here rather than passing a status around.
"""
from __future__ import annotations


class LevanteError(Exception):
    """Root of every error Levante raises on purpose (a 500 when unclassified)."""
    status = 500


class BadRequest(LevanteError):
    status = 400


class Unauthorized(LevanteError):
    status = 401


class Forbidden(LevanteError):
    status = 403


class NotFound(LevanteError):
    status = 404


class Conflict(LevanteError):
    status = 409


class PayloadTooLarge(LevanteError):
    status = 413


class TooManyRequests(LevanteError):
    """A bounded resource is in full use; the client may try again later."""
    status = 429


class IllegalStateChange(Conflict):
    """A workflow or task execution was asked to move to a state its table forbids."""


class AuthSetupError(LevanteError):
    """The settings do not make a safe or working authentication setup: the
    server refuses to start, saying why."""
