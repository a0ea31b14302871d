"""Errors the use cases raise; the API maps each to its HTTP status."""


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    pass


class Invalid(ValueError):
    pass
