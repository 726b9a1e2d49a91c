"""Every ctypes declaration of include/mtrt.h that the package uses, in one place.

Mirrors include/mtrt.h at MTRT_ABI_VERSION 3: when the header changes (a new ABI, new session
options), this file is the only one to update. Library lookup order: the MTRT_LIBRARY environment
variable (a path to libmtrt.so), then a libmtrt.so* next to this package, then the system loader
(libmtrt.so.1 on the default search path, e.g. after `cmake --install`).

ctypes.CDLL (unlike ctypes.PyDLL) releases the GIL for the duration of every foreign call, so a
long mtrt_session_run lets other Python threads run (tests/test_mtrt.py checks this).
"""
import ctypes
import glob
import os

ABI_VERSION = 3  # the MTRT_ABI_VERSION this file mirrors

# mtrt_status_code
OK, INVALID_ARGUMENT, OUT_OF_RANGE, DATA_LOSS, NOT_FOUND, UNAVAILABLE = 0, 1, 2, 3, 4, 5
RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 6, 7, 8

# mtrt_device_kind
DEVICE_CPU, DEVICE_GPU, DEVICE_AUTO = 0, 1, 2


class OpenOptions(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_int)]


# mtrt_arrival
ARRIVAL_ROUND, ARRIVAL_INDEPENDENT, ARRIVAL_BATCHED_WINDOW = 0, 1, 2


class SessionOptions(ctypes.Structure):
    # include/mtrt.h's mtrt_session_options at ABI 3, field for field
    _fields_ = [("device", ctypes.c_int), ("gpu_index", ctypes.c_int), ("cpu_threads", ctypes.c_int),
                ("arrival", ctypes.c_int), ("window_us", ctypes.c_int),
                ("cpu_target", ctypes.c_char_p)]


class PortInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
        ("nbytes", ctypes.c_size_t),
    ]


_P = ctypes.c_void_p  # every opaque handle and status
_SIGNATURES = {
    "mtrt_version_number": (ctypes.c_int, []),
    "mtrt_abi_version": (ctypes.c_int, []),
    "mtrt_status_code_of": (ctypes.c_int, [_P]),
    "mtrt_status_message": (ctypes.c_char_p, [_P]),
    "mtrt_status_free": (None, [_P]),
    "mtrt_bundle_open": (_P, [ctypes.c_char_p, ctypes.POINTER(OpenOptions), ctypes.POINTER(_P)]),
    "mtrt_bundle_close": (None, [_P]),
    "mtrt_bundle_tenant_count": (ctypes.c_int, [_P]),
    "mtrt_bundle_tenant_name": (ctypes.c_char_p, [_P, ctypes.c_int]),
    "mtrt_bundle_tenant_index": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "mtrt_bundle_mtcc_version": (ctypes.c_char_p, [_P]),
    "mtrt_bundle_input_count": (ctypes.c_int, [_P, ctypes.c_int]),
    "mtrt_bundle_output_count": (ctypes.c_int, [_P, ctypes.c_int]),
    "mtrt_bundle_input_info": (_P, [_P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(PortInfo)]),
    "mtrt_bundle_output_info": (_P, [_P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(PortInfo)]),
    "mtrt_session_create": (_P, [_P, ctypes.POINTER(SessionOptions), ctypes.POINTER(_P)]),
    "mtrt_session_destroy": (None, [_P]),
    "mtrt_session_bind_input": (_P, [_P, ctypes.c_int, ctypes.c_char_p, _P, ctypes.c_size_t]),
    "mtrt_session_bind_output": (_P, [_P, ctypes.c_int, ctypes.c_char_p, _P, ctypes.c_size_t]),
    "mtrt_session_run": (_P, [_P, ctypes.c_int]),
    "mtrt_session_device_name": (ctypes.c_char_p, [_P]),
    "mtrt_session_tenant_time_us": (ctypes.c_double, [_P, ctypes.c_int]),
    "mtrt_session_device_note": (ctypes.c_char_p, [_P]),
    "mtrt_session_cpu_target": (ctypes.c_char_p, [_P]),
}


def session_options(device_kind, gpu_index, threads, cpu_target=None):
    """The mtrt_session_options for a session (threads None: libmtrt's default, the calling
    thread alone; cpu_target None: auto)."""
    return SessionOptions(device=device_kind, gpu_index=gpu_index, cpu_threads=threads or 0,
                          arrival=ARRIVAL_ROUND, window_us=200,
                          cpu_target=cpu_target.encode() if cpu_target else None)


def _candidates():
    env = os.environ.get("MTRT_LIBRARY")
    if env:
        return [("MTRT_LIBRARY", env)]
    here = os.path.dirname(os.path.abspath(__file__))
    local = sorted(glob.glob(os.path.join(here, "libmtrt.so*")))
    return [("next to the package", p) for p in local] + [("the system loader", "libmtrt.so.1")]


def load():
    """Loads libmtrt and declares its functions; raises OSError naming every place tried."""
    tried = []
    for where, path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{where} ({path}): {e}")
            continue
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        return lib, path
    raise OSError("mtrt: cannot load libmtrt: " + "; ".join(tried))
