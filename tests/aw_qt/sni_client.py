"""What a tray host sees of a StatusNotifierItem, read over D-Bus as the desktop user.

    python -m tests.aw_qt.sni_client items              # the watcher's registered items
    python -m tests.aw_qt.sni_client item ITEM          # the item's properties
    python -m tests.aw_qt.sni_client menu ITEM          # its dbusmenu, as a tree of labels
    python -m tests.aw_qt.sni_client click ITEM LABEL   # "clicked" on the entry LABEL

ITEM is an entry of the watcher's RegisteredStatusNotifierItems ("bus name" or "bus
name/object path", as the item registered itself). Each command prints one JSON value.
It speaks the two specifications a tray host (Plasma's, GNOME's AppIndicator
extension) speaks: org.kde.StatusNotifierWatcher / StatusNotifierItem and
com.canonical.dbusmenu.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from typing import Any

from watchers.dbus import Endpoint, SessionBus

WATCHER = Endpoint("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
                   "org.kde.StatusNotifierWatcher")
ITEM_INTERFACE = "org.kde.StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
ITEM_PROPERTIES = ("Id", "Title", "Status", "Category", "IconName", "Menu")


def item_endpoint(item: str) -> Endpoint:
    service, _, path = item.partition("/")
    return Endpoint(service, "/" + path if path else "/StatusNotifierItem", ITEM_INTERFACE)


def items(bus: SessionBus) -> list[str]:
    return list(bus.get_property(WATCHER, "RegisteredStatusNotifierItems"))


def item(bus: SessionBus, name: str) -> dict[str, Any]:
    endpoint = item_endpoint(name)
    found: dict[str, Any] = {key: bus.get_property(endpoint, key) for key in ITEM_PROPERTIES}
    pixmaps = bus.get_property(endpoint, "IconPixmap")  # a(iiay): width, height, ARGB32
    found["IconPixmap"] = [[width, height, len(data), hashlib.sha1(data).hexdigest()[:12]]
                           for width, height, data in pixmaps]
    _icon, _pixmaps, title, text = bus.get_property(endpoint, "ToolTip")  # (sa(iiay)ss)
    found["ToolTip"] = [title, text]
    return found


def menu_endpoint(bus: SessionBus, name: str) -> Endpoint:
    service = item_endpoint(name).bus_name
    return Endpoint(service, str(bus.get_property(item_endpoint(name), "Menu")), MENU_INTERFACE)


def layout(node: tuple[int, dict[str, Any], list[Any]]) -> dict[str, Any]:
    """A dbusmenu node (id, properties a{sv}, children av) as a dict of plain values."""
    node_id, properties, children = node
    values = {key: value for key, (_signature, value) in properties.items()}
    return {"id": node_id, "label": values.get("label", ""),
            "type": values.get("type", "standard"), "enabled": values.get("enabled", True),
            "children": [layout(child) for _signature, child in children]}


def menu(bus: SessionBus, name: str) -> dict[str, Any]:
    endpoint = menu_endpoint(bus, name)
    bus.call(endpoint, "AboutToShow", "i", (0,))
    _revision, root = bus.call(endpoint, "GetLayout", "iias", (0, -1, []))
    return layout(root)


def click(bus: SessionBus, name: str, label: str) -> dict[str, Any]:
    tree = menu(bus, name)
    matches = [node for node in _walk(tree) if node["label"].replace("&", "") == label]
    if not matches:
        return {"clicked": False, "labels": [n["label"] for n in _walk(tree)]}
    bus.call(menu_endpoint(bus, name), "Event", "isvu",
             (matches[0]["id"], "clicked", ("i", 0), int(time.time()) & 0xFFFFFFFF))
    return {"clicked": True, "id": matches[0]["id"]}


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node["children"] for n in _walk(child))]


def main(argv: list[str]) -> int:
    bus = SessionBus.open()
    try:
        command, *args = argv
        if command == "items":
            result: Any = items(bus)
        elif command == "item":
            result = item(bus, args[0])
        elif command == "menu":
            result = menu(bus, args[0])
        elif command == "click":
            result = click(bus, args[0], args[1])
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        bus.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
