// aw-watcher-window's KWin script (KDE Plasma 5.27 and 6).
//
// Wayland gives no client a view of other clients' windows, but KWin runs scripts
// inside the compositor. The watcher loads this file over D-Bus
// (org.kde.kwin.Scripting.loadScript), and unloads it when it stops. The script only
// reports: whenever the active window or that window's title changes, it calls the
// watcher's D-Bus method WindowChanged(resourceClass, resourceName, caption). Empty
// strings mean that no window is active. Native Wayland and XWayland windows are
// KWin windows alike, so both are reported the same way.
//
// KWin 6 renamed the API this needs: workspace.windowActivated / activeWindow took
// the place of KWin 5's workspace.clientActivated / activeClient. The two branches at
// the bottom are the only difference.

var WATCHER_SERVICE = "org.activitywatch.WindowWatcher";
var WATCHER_PATH = "/org/activitywatch/WindowWatcher";
var WATCHER_INTERFACE = "org.activitywatch.WindowWatcher";

var watched = null;

function text(window, property) {
    if (!window) {
        return "";
    }
    var value = window[property];
    return value === undefined || value === null ? "" : String(value);
}

function report() {
    callDBus(WATCHER_SERVICE, WATCHER_PATH, WATCHER_INTERFACE, "WindowChanged",
             text(watched, "resourceClass"), text(watched, "resourceName"),
             text(watched, "caption"));
}

function follow(window) {
    if (watched) {
        try {
            watched.captionChanged.disconnect(report);
        } catch (closed) {
            // The window was destroyed; KWin already dropped its connections.
        }
    }
    watched = window || null;
    if (watched) {
        watched.captionChanged.connect(report);
    }
    report();
}

if (workspace.windowActivated !== undefined) {
    workspace.windowActivated.connect(follow);  // KWin 6
    follow(workspace.activeWindow);
} else {
    workspace.clientActivated.connect(follow);  // KWin 5
    follow(workspace.activeClient);
}
