// TEST-ONLY helper for tests/watchers/wayland/test_gnome.py (GNOME Shell 43/44 script).
//
// org.gnome.Shell.Eval is locked since GNOME 41, and a test must not need a hook in
// the product's extension, so this separate extension gives the tests what a user's
// hands would do: focus a window by title (the shell's own activation, as a click in
// the overview does), list the windows, and move a virtual pointer or press Return on
// a virtual keyboard (Clutter's virtual input devices, the path Mutter's remote-desktop
// input takes), which also resets Mutter's idle monitor like real input.
'use strict';

const {Clutter, Gio, GLib} = imports.gi;
const Main = imports.ui.main;

const HELPER_XML = `
<node>
  <interface name="io.github.aw_reimpl.TestHelper">
    <method name="Windows"><arg type="s" direction="out"/></method>
    <method name="Activate">
      <arg type="s" direction="in" name="title"/>
      <arg type="b" direction="out"/>
    </method>
    <method name="MovePointer"/>
    <method name="Redraw"/>
    <method name="PressReturn"/>
  </interface>
</node>`;

class TestHelper {
    enable() {
        this._dbus = Gio.DBusExportedObject.wrapJSObject(HELPER_XML, this);
        this._dbus.export(Gio.DBus.session, '/io/github/aw_reimpl/TestHelper');
        this._nameId = Gio.bus_own_name_on_connection(Gio.DBus.session,
            'io.github.aw_reimpl.TestHelper', Gio.BusNameOwnerFlags.NONE, null, null);
        const seat = Clutter.get_default_backend().get_default_seat();
        this._pointer = seat.create_virtual_device(Clutter.InputDeviceType.POINTER_DEVICE);
        this._keyboard = seat.create_virtual_device(Clutter.InputDeviceType.KEYBOARD_DEVICE);
    }

    disable() {
        Gio.bus_unown_name(this._nameId);
        this._dbus.unexport();
        this._dbus = null;
        this._pointer = null;
        this._keyboard = null;
    }

    _windows() {
        return global.get_window_actors().map(actor => actor.meta_window)
            .filter(w => !w.is_override_redirect());
    }

    Windows() {
        const focused = global.display.focus_window;
        return JSON.stringify(this._windows().map(w => ({
            title: w.get_title(),
            wm_class: w.get_wm_class(),
            client: w.get_client_type() === 0 ? 'wayland' : 'x11',
            focused: w === focused,
            hidden: w.is_hidden(),
        })));
    }

    Activate(title) {
        const window = this._windows().find(w => w.get_title() === title);
        if (!window)
            return false;
        Main.activateWindow(window, global.get_current_time());
        return global.display.focus_window === window;
    }

    // A headless stage repaints only on damage, and Mutter finishes mapping a new
    // window (and decides about its focus) in work it runs before a repaint.
    Redraw() {
        global.stage.queue_redraw();
    }

    MovePointer() {
        this._pointer.notify_relative_motion(GLib.get_monotonic_time(), 1, 0);
    }

    PressReturn() {
        const now = GLib.get_monotonic_time();
        this._keyboard.notify_keyval(now, Clutter.KEY_Return, Clutter.KeyState.PRESSED);
        this._keyboard.notify_keyval(now + 1000, Clutter.KEY_Return, Clutter.KeyState.RELEASED);
    }
}

// eslint-disable-next-line no-unused-vars
function init() {
    return new TestHelper();
}
