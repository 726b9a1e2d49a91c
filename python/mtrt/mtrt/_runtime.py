"""Bundle, Session, Tenant and Port over libmtrt's C API (declared in _capi.py)."""
import ctypes
import os
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from . import _capi
from ._errors import InvalidArgumentError, UnimplementedError, check

# ONNX TensorProto element types (the bundle's dtypes) and their numpy equivalents.
_NUMPY_OF_ONNX = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
                  7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
                  13: np.uint64}
_DEVICES = {"cpu": _capi.DEVICE_CPU, "gpu": _capi.DEVICE_GPU, "auto": _capi.DEVICE_AUTO}

_lock = threading.Lock()
_lib = None
_lib_path = None


def _library():
    """libmtrt, loaded once; its ABI must be the one _capi mirrors."""
    global _lib, _lib_path
    with _lock:
        if _lib is None:
            lib, path = _capi.load()
            abi = lib.mtrt_abi_version()
            if abi != _capi.ABI_VERSION:
                raise UnimplementedError(
                    f"mtrt: {path} has libmtrt ABI {abi}; this package speaks ABI "
                    f"{_capi.ABI_VERSION} (install the matching mtrt package or libmtrt)")
            _lib, _lib_path = lib, path
        return _lib


def abi_version():
    return _library().mtrt_abi_version()


def version_number():
    return _library().mtrt_version_number()


def library_path():
    """The libmtrt file the package loaded."""
    _library()
    return _lib_path


def _dtype_name(dt):
    return np.dtype(dt).name


def _shape_text(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


@dataclass(frozen=True)
class Port:
    """One graph input or output of a tenant: name, numpy dtype, static shape, byte size."""
    name: str
    dtype: np.dtype
    shape: tuple
    nbytes: int
    onnx_dtype: int

    def __str__(self):
        return f"{self.name}: {_dtype_name(self.dtype)}{_shape_text(self.shape)}"


@dataclass(frozen=True)
class Tenant:
    """A tenant of a bundle: its index, name, inputs and outputs (in the bundle's order)."""
    index: int
    name: str
    inputs: tuple
    outputs: tuple

    def input(self, name):
        return _port_named(self, self.inputs, name, "input")

    def output(self, name):
        return _port_named(self, self.outputs, name, "output")


def _port_named(tenant, ports, name, kind):
    for p in ports:
        if p.name == name:
            return p
    known = ", ".join(repr(p.name) for p in ports) or "none"
    raise InvalidArgumentError(f"tenant '{tenant.name}' has no {kind} '{name}' (it has {known})")


class _Closeable:
    """close() on `with` exit and on garbage collection (idempotent in subclasses)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None):
            self.close()


class Bundle(_Closeable):
    """An open .mtbundle (read-only, shareable across threads). Close it, or use `with`."""

    def __init__(self, path):
        self._lib = _library()
        self.path = os.fspath(path)
        self._handle = ctypes.c_void_p()
        opts = _capi.OpenOptions(abi_version=_capi.ABI_VERSION)
        check(self._lib, self._lib.mtrt_bundle_open(os.fsencode(self.path), ctypes.byref(opts),
                                                    ctypes.byref(self._handle)))
        self._sessions = weakref.WeakSet()
        self.mtcc_version = self._lib.mtrt_bundle_mtcc_version(self._handle).decode()
        self.tenants = tuple(self._tenant(t) for t in
                             range(self._lib.mtrt_bundle_tenant_count(self._handle)))
        self._by_name = {t.name: t for t in self.tenants}

    def _port(self, t, i, output):
        info = _capi.PortInfo()
        fn = self._lib.mtrt_bundle_output_info if output else self._lib.mtrt_bundle_input_info
        check(self._lib, fn(self._handle, t, i, ctypes.byref(info)))
        name = info.name.decode()
        if info.dtype not in _NUMPY_OF_ONNX:
            raise UnimplementedError(f"mtrt: tenant {t} port '{name}' has ONNX dtype {info.dtype}, "
                                     "which numpy has no type for")
        shape = tuple(info.dims[d] for d in range(info.rank))
        return Port(name, np.dtype(_NUMPY_OF_ONNX[info.dtype]), shape, info.nbytes, info.dtype)

    def _tenant(self, t):
        lib, h = self._lib, self._handle
        ins = tuple(self._port(t, i, False) for i in range(lib.mtrt_bundle_input_count(h, t)))
        outs = tuple(self._port(t, i, True) for i in range(lib.mtrt_bundle_output_count(h, t)))
        return Tenant(t, lib.mtrt_bundle_tenant_name(h, t).decode(), ins, outs)

    def tenant(self, name):
        """The Tenant called name; InvalidArgumentError naming the known ones otherwise."""
        self._check_open()
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            known = ", ".join(repr(n) for n in self._by_name)
            raise InvalidArgumentError(
                f"bundle {self.path}: no tenant '{name}' (it has {known})") from None

    def session(self, device="auto", threads=None, gpu_index=0, cpu_target=None):
        """A Session with its own arenas. device: "cpu", "gpu" or "auto" (the GPU when one
        works, else the CPU). threads: CPU threads running the groups the plan lets run at once
        and splitting each generated CPU kernel (None: the calling thread alone); outputs are
        the same bytes for any count. cpu_target: which generated CPU object runs (None or
        "auto": the widest the host runs; "reference": the reference kernels; a target name
        such as "x86-64-v3" caps the host's features); Session.note says what was chosen."""
        self._check_open()
        return Session(self, device, threads, gpu_index, cpu_target)

    def _check_open(self):
        if not self._handle:
            raise InvalidArgumentError(f"bundle {self.path} is closed")

    def close(self):
        """Closes every session of the bundle, then the bundle (idempotent)."""
        for s in list(self._sessions):
            s.close()
        if self._handle:
            self._lib.mtrt_bundle_close(self._handle)
            self._handle = ctypes.c_void_p()

    def __repr__(self):
        return f"mtrt.Bundle({self.path!r}, tenants={[t.name for t in self.tenants]})"


class Session(_Closeable):
    """Runs a bundle's tenants; one run at a time (calls from several threads are serialized).
    Create one session per thread for parallel runs."""

    def __init__(self, bundle, device, threads, gpu_index, cpu_target=None):
        lib = bundle._lib
        if device not in _DEVICES:
            raise InvalidArgumentError(f"device must be 'cpu', 'gpu' or 'auto', not {device!r}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise InvalidArgumentError(f"threads must be a positive int or None, not {threads!r}")
        if cpu_target is not None and not isinstance(cpu_target, str):
            raise InvalidArgumentError(f"cpu_target must be a str or None, not {cpu_target!r}")
        opts = _capi.session_options(_DEVICES[device], gpu_index, threads, cpu_target)
        self.bundle = bundle
        self._lib = lib
        self._lock = threading.Lock()
        self._handle = ctypes.c_void_p()
        check(lib, lib.mtrt_session_create(bundle._handle, ctypes.byref(opts),
                                           ctypes.byref(self._handle)))
        bundle._sessions.add(self)
        self.timings_us = {}

    @property
    def device(self):
        """The device the last run used ("cpu")."""
        self._check_open()
        return self._lib.mtrt_session_device_name(self._handle).decode()

    @property
    def note(self):
        """One line on how the session runs: the device, and on the CPU which generated CPU
        object runs or why the reference kernels do."""
        self._check_open()
        return self._lib.mtrt_session_device_note(self._handle).decode()

    @property
    def cpu_target(self):
        """The generated CPU object's target ("x86-64-v4", ...), "reference", or "" on a GPU."""
        self._check_open()
        return self._lib.mtrt_session_cpu_target(self._handle).decode()

    def _check_open(self):
        if not self._handle:
            raise InvalidArgumentError("the session is closed")

    def _input_array(self, tenant, port, value):
        if not isinstance(value, np.ndarray):
            raise InvalidArgumentError(
                f"tenant '{tenant.name}' input '{port.name}': expected a numpy.ndarray, not "
                f"{type(value).__name__}")
        if value.dtype != port.dtype or tuple(value.shape) != port.shape:
            raise InvalidArgumentError(
                f"tenant '{tenant.name}' input '{port.name}' is {port} in the bundle, not "
                f"{value.dtype.name}{_shape_text(value.shape)} (no implicit casts or reshapes)")
        return np.ascontiguousarray(value)

    def run(self, feeds):
        """Runs the tenants named in feeds ({tenant: {input: ndarray}}, every input of each)
        in one round and returns {tenant: {output: ndarray}}. Timings land in timings_us."""
        if not isinstance(feeds, dict) or not feeds:
            raise InvalidArgumentError("run() takes a non-empty dict {tenant: {input: ndarray}}")
        lib = self._lib
        with self._lock:
            self._check_open()
            keep, outputs, order = [], {}, []
            for tname, tfeeds in feeds.items():
                tenant = self.bundle.tenant(tname)
                if not isinstance(tfeeds, dict):
                    raise InvalidArgumentError(
                        f"tenant '{tenant.name}': expected a dict {{input: ndarray}}")
                for name in tfeeds:
                    tenant.input(name)  # unknown names fail with the known ones listed
                missing = [p.name for p in tenant.inputs if p.name not in tfeeds]
                if missing:
                    raise InvalidArgumentError(
                        f"tenant '{tenant.name}': missing input(s) {', '.join(missing)}")
                for port in tenant.inputs:
                    arr = self._input_array(tenant, port, tfeeds[port.name])
                    keep.append(arr)
                    check(lib, lib.mtrt_session_bind_input(
                        self._handle, tenant.index, port.name.encode(),
                        arr.ctypes.data_as(ctypes.c_void_p), arr.nbytes))
                outs = {}
                for port in tenant.outputs:
                    arr = np.empty(port.shape, dtype=port.dtype)
                    check(lib, lib.mtrt_session_bind_output(
                        self._handle, tenant.index, port.name.encode(),
                        arr.ctypes.data_as(ctypes.c_void_p), arr.nbytes))
                    outs[port.name] = arr
                outputs[tenant.name] = outs
                order.append(tenant.index)
            # One call for the whole bundle when every tenant runs, else each tenant's part of
            # the plan in schedule order (ABI 1 runs one tenant or all).
            if len(order) == len(self.bundle.tenants):
                check(lib, lib.mtrt_session_run(self._handle, -1))
            else:
                for t in sorted(order):
                    check(lib, lib.mtrt_session_run(self._handle, t))
            self.timings_us = {self.bundle.tenants[t].name:
                               lib.mtrt_session_tenant_time_us(self._handle, t) for t in order}
            del keep
            return outputs

    def close(self):
        with self._lock:
            if self._handle:
                self._lib.mtrt_session_destroy(self._handle)
                self._handle = ctypes.c_void_p()
