"""mtrt: load an .mtbundle written by `mtcc compile -o` and run its tenants from Python.

    import mtrt
    bundle = mtrt.Bundle("demo.mtbundle")
    with bundle.session(device="auto") as s:
        out = s.run({"classifier": {"input": x}})   # {tenant: {output: ndarray}}
        print(s.timings_us)                          # {tenant: microseconds of the last run}

A thin ctypes layer over the installed libmtrt (include/mtrt.h); no compiler code. Errors are
mtrt.Error subclasses, one per libmtrt status code, carrying libmtrt's message. The GIL is
released while libmtrt runs (ctypes.CDLL releases it around every call).
"""
from ._errors import (DataLossError, Error, InternalError, InvalidArgumentError, NotFoundError,
                      OutOfRangeError, ResourceExhaustedError, UnavailableError,
                      UnimplementedError)
from ._runtime import Bundle, Port, Session, Tenant, abi_version, library_path, version_number

__version__ = "0.1.0"
__all__ = ["Bundle", "Session", "Tenant", "Port", "Error", "InvalidArgumentError",
           "OutOfRangeError", "DataLossError", "NotFoundError", "UnavailableError",
           "ResourceExhaustedError", "UnimplementedError", "InternalError", "abi_version",
           "version_number", "library_path"]
