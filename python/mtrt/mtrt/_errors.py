"""mtrt.Error and one subclass per libmtrt status code; each carries libmtrt's message."""
from . import _capi


class Error(Exception):
    """A libmtrt failure (or a request the package refuses before calling it). `code` is the
    mtrt_status_code, `message` the one-line text."""

    code = _capi.INTERNAL

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InvalidArgumentError(Error, ValueError):
    code = _capi.INVALID_ARGUMENT


class OutOfRangeError(Error, IndexError):
    code = _capi.OUT_OF_RANGE


class DataLossError(Error):
    code = _capi.DATA_LOSS


class NotFoundError(Error, FileNotFoundError):
    code = _capi.NOT_FOUND


class UnavailableError(Error):
    code = _capi.UNAVAILABLE


class ResourceExhaustedError(Error, MemoryError):
    code = _capi.RESOURCE_EXHAUSTED


class UnimplementedError(Error, NotImplementedError):
    code = _capi.UNIMPLEMENTED


class InternalError(Error):
    code = _capi.INTERNAL


_BY_CODE = {c.code: c for c in (InvalidArgumentError, OutOfRangeError, DataLossError,
                                NotFoundError, UnavailableError, ResourceExhaustedError,
                                UnimplementedError, InternalError)}


def check(lib, status):
    """Raises the Error subclass for a non-NULL mtrt_status (freeing it); nothing for NULL."""
    if not status:
        return
    try:
        code = lib.mtrt_status_code_of(status)
        message = lib.mtrt_status_message(status).decode("utf-8", "replace")
    finally:
        lib.mtrt_status_free(status)
    cls = _BY_CODE.get(code, InternalError)
    raise cls(message)
