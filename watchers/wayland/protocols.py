"""Python bindings for the Wayland protocols the watchers speak, built at run time.

The bindings come from our own protocol XML files (`resources/wayland-protocols/`),
turned into Python by pywayland's scanner when a backend first needs them. They are
written into a temporary package, imported, and the folder is removed again: Python
keeps imported modules in memory, so nothing generated is committed, installed or
cached on disk (a stale cache after an upgrade cannot happen), for a one-time cost of
a few milliseconds.

The core protocol (`wl_seat`, `wl_output`, ...) is pywayland's own module: the
generated code imports it through a one-line `wayland` shim in the package, so its
interface objects are the very ones pywayland's `Display` uses.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

from watchers.resources import resources_dir

PACKAGE = "watchers_wayland_bindings"
# protocol module name -> XML file, for every protocol a backend may ask for
PROTOCOL_FILES = {
    "wlr_foreign_toplevel_management_unstable_v1":
        "wlr-foreign-toplevel-management-unstable-v1.xml",
    "ext_idle_notify_v1": "ext-idle-notify-v1.xml",
    "org_kde_kwin_idle": "org-kde-kwin-idle.xml",
}
CORE_SHIM = "from pywayland.protocol.wayland import *  # noqa: F403\n"

_lock = threading.Lock()


class ProtocolFilesMissingError(RuntimeError):
    """The XML files are not where this install keeps its resources."""


def protocol_dir() -> Path:
    return resources_dir() / "wayland-protocols"


def protocol_module(name: str) -> ModuleType:
    """The generated module for protocol `name` (a key of PROTOCOL_FILES)."""
    if name not in PROTOCOL_FILES:
        raise KeyError(f"no protocol XML declared for {name!r}")
    with _lock:
        if PACKAGE not in sys.modules:
            _build_package()
    return importlib.import_module(f"{PACKAGE}.{name}")


def _build_package() -> None:
    """Generate every protocol into a temporary package, import it all, remove the files."""
    from pywayland.scanner.protocol import Protocol

    folder = protocol_dir()
    missing = [f for f in PROTOCOL_FILES.values() if not (folder / f).is_file()]
    if missing:
        raise ProtocolFilesMissingError(
            f"Wayland protocol files missing from {folder}: {', '.join(missing)} "
            f"(reinstall aw-reimpl)")
    protocols = [Protocol.parse_file(str(folder / f)) for f in PROTOCOL_FILES.values()]
    imports = interface_modules([ET.parse(folder / f).getroot()
                                 for f in PROTOCOL_FILES.values()])
    build = Path(tempfile.mkdtemp(prefix="aw-wayland-bindings-"))
    try:
        package = build / PACKAGE
        package.mkdir()
        (package / "__init__.py").write_text("", encoding="utf-8")
        (package / "wayland.py").write_text(CORE_SHIM, encoding="utf-8")
        for protocol in protocols:
            protocol.output(str(package), imports)
        spec = importlib.util.spec_from_file_location(
            PACKAGE, package / "__init__.py", submodule_search_locations=[str(package)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        dont_write = sys.dont_write_bytecode
        sys.dont_write_bytecode = True  # the folder is about to go
        try:
            spec.loader.exec_module(module)
            for name in PROTOCOL_FILES:
                importlib.import_module(f"{PACKAGE}.{name}")
        except BaseException:
            for key in [k for k in sys.modules if k.split(".")[0] == PACKAGE]:
                del sys.modules[key]
            raise
        finally:
            sys.dont_write_bytecode = dont_write
    finally:
        shutil.rmtree(build, ignore_errors=True)


def interface_modules(roots: list[ET.Element]) -> dict[str, str]:
    """Interface name -> module that defines it, as the scanner needs for its imports.

    An interface our files refer to but do not declare (wl_seat, wl_output, wl_surface)
    belongs to the core protocol, i.e. to the `wayland` shim.
    """
    defined = {iface.attrib["name"]: root.attrib["name"]
               for root in roots for iface in root.iter("interface")}
    referenced = {arg.attrib["interface"]
                  for root in roots for arg in root.iter("arg") if "interface" in arg.attrib}
    return {**dict.fromkeys(referenced - defined.keys(), "wayland"), **defined}
