"""A lab pod process's own service-account files at the fixed path (imported by this folder's ``sitecustomize``).

Why: on a node every container finds its ServiceAccount's ``token``, ``ca.crt`` and ``namespace`` under
``/var/run/secrets/kubernetes.io/serviceaccount`` (kubernetes-asyncio's ``load_incluster_config()`` reads exactly
that path), but the lab's pods are processes sharing one file system. The kubelet writes each pod's files in the
pod's folder and names it in ``FLOE_LAB_SERVICEACCOUNT``; here, paths under the fixed one (and its ``/run`` twin)
lead there for the ways Python reaches a file: ``open``/``io.open`` (pathlib too), ``os.open``, ``os.stat``/``lstat``
(``os.path.isfile`` and ``exists``), ``os.access``, ``os.listdir`` and the CA file or folder an ``ssl`` context
loads (which OpenSSL would open in C, past ``open``). Nothing else is touched, and nothing happens without the
variable.
"""

from __future__ import annotations

import builtins
import io
import os
import ssl
from typing import Any

_ENV = "FLOE_LAB_SERVICEACCOUNT"
_FIXED = ("/var/run/secrets/kubernetes.io/serviceaccount", "/run/secrets/kubernetes.io/serviceaccount")


def _install() -> None:
    local = os.environ.get(_ENV)
    if not local:
        return

    def mapped(path: Any) -> Any:
        if not isinstance(path, str | bytes | os.PathLike):
            return path  # a file descriptor
        raw = os.fspath(path)
        text = os.fsdecode(raw)
        for fixed in _FIXED:
            if text == fixed or text.startswith(fixed + "/"):
                local_path = local + text[len(fixed) :]
                return os.fsencode(local_path) if isinstance(raw, bytes) else local_path
        return path

    def wrap(real: Any) -> Any:
        def redirected(*args: Any, **kwargs: Any) -> Any:
            if args:
                args = (mapped(args[0]), *args[1:])
            for name in ("file", "path"):
                if name in kwargs:
                    kwargs[name] = mapped(kwargs[name])
            return real(*args, **kwargs)

        redirected.__name__ = getattr(real, "__name__", "redirected")
        redirected.__doc__ = getattr(real, "__doc__", None)
        return redirected

    opener = wrap(builtins.open)
    builtins.open = opener
    io.open = opener
    for name in ("open", "stat", "lstat", "access", "listdir"):
        setattr(os, name, wrap(getattr(os, name)))
    real_load = ssl.SSLContext.load_verify_locations

    def load_verify_locations(self: ssl.SSLContext, cafile: Any = None, capath: Any = None, cadata: Any = None) -> None:
        real_load(self, mapped(cafile), mapped(capath), cadata)

    ssl.SSLContext.load_verify_locations = load_verify_locations  # type: ignore[method-assign]


_install()
