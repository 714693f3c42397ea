// The body shared by both builds of the extension (see README.md in this folder).
//
// It has no import or export statements of its own: the installer puts it between the
// lines of entry-legacy.js (GNOME 43 and 44, `imports.gi`) or entry-esm.js (GNOME 45+,
// ES modules), which bind Gio, GLib and Shell first. `global` is the shell's own.
//
// What it does: export one object on the session bus that says which window has the
// keyboard focus, and emit a signal whenever that window or its title changes, so
// aw-watcher-window never has to poll.

const FOCUSED_WINDOW_BUS_NAME = 'io.github.aw_reimpl.FocusedWindow';
const FOCUSED_WINDOW_PATH = '/io/github/aw_reimpl/FocusedWindow';
const FOCUSED_WINDOW_VERSION = 1;
const FOCUSED_WINDOW_XML = `
<node>
  <interface name="io.github.aw_reimpl.FocusedWindow">
    <method name="Get">
      <arg type="a{ss}" direction="out" name="window"/>
    </method>
    <signal name="FocusChanged">
      <arg type="a{ss}" name="window"/>
    </signal>
    <signal name="TitleChanged">
      <arg type="a{ss}" name="window"/>
    </signal>
    <property name="Version" type="u" access="read"/>
  </interface>
</node>`;

/**
 * The focused window as plain strings; an empty object when nothing has the focus.
 *
 * `app_id` is the shell's application id without ".desktop" (the same id the dock
 * and the app grid use), empty for windows the shell could not match to an installed
 * application; `wm_class` is X11's WM_CLASS class for XWayland windows and the
 * xdg-shell app id for Wayland ones, which is what aw-watcher-window reports on X11.
 */
function describeFocusedWindow(window) {
    if (!window)
        return {};
    const app = Shell.WindowTracker.get_default().get_window_app(window);
    let appId = '';
    if (app && !app.is_window_backed())
        appId = (app.get_id() || '').replace(/\.desktop$/, '');
    return {
        app_id: appId,
        app_name: app ? app.get_name() || '' : '',
        wm_class: window.get_wm_class() || '',
        wm_class_instance: window.get_wm_class_instance() || '',
        title: window.get_title() || '',
        pid: String(window.get_pid()),
        client: window.get_client_type() === 0 ? 'wayland' : 'x11',
    };
}

class FocusedWindowService {
    enable() {
        this._dbus = Gio.DBusExportedObject.wrapJSObject(FOCUSED_WINDOW_XML, this);
        this._dbus.export(Gio.DBus.session, FOCUSED_WINDOW_PATH);
        this._nameId = Gio.bus_own_name_on_connection(Gio.DBus.session,
            FOCUSED_WINDOW_BUS_NAME, Gio.BusNameOwnerFlags.NONE, null, null);
        this._window = null;
        this._windowSignals = [];
        this._focusSignal = global.display.connect('notify::focus-window',
            () => this._focusChanged());
        this._focusChanged();
    }

    disable() {
        global.display.disconnect(this._focusSignal);
        this._forgetWindow();
        Gio.bus_unown_name(this._nameId);
        this._dbus.unexport();
        this._dbus = null;
    }

    Get() {
        return describeFocusedWindow(this._window);
    }

    get Version() {
        return FOCUSED_WINDOW_VERSION;
    }

    _focusChanged() {
        const window = global.display.focus_window;
        if (window === this._window)
            return;
        this._forgetWindow();
        this._window = window;
        if (window) {
            // A title or class change of the focused window is news; a window that
            // goes away takes its handlers with it (the focus moves on by itself).
            const changed = () => this._emit('TitleChanged');
            this._windowSignals = [
                window.connect('notify::title', changed),
                window.connect('notify::wm-class', changed),
                window.connect('unmanaged', () => this._forgetWindow()),
            ];
        }
        this._emit('FocusChanged');
    }

    _forgetWindow() {
        if (this._window) {
            for (const id of this._windowSignals)
                this._window.disconnect(id);
        }
        this._windowSignals = [];
        this._window = null;
    }

    _emit(signal) {
        this._dbus.emit_signal(signal,
            new GLib.Variant('(a{ss})', [describeFocusedWindow(this._window)]));
    }
}
