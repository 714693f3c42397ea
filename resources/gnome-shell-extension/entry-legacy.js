// GNOME Shell 43 and 44: extensions are scripts loaded through `imports`, and the
// shell calls the global init() for an object with enable() and disable().
'use strict';

const {Gio, GLib, Shell} = imports.gi;

/* @FOCUSED_WINDOW_BODY@ */

// eslint-disable-next-line no-unused-vars
function init() {
    return new FocusedWindowService();
}
