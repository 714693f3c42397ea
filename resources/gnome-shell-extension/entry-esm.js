// GNOME Shell 45 and later: extensions are ES modules whose default export extends
// the shell's Extension class.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import Shell from 'gi://Shell';
import {Extension} from 'resource:///org/gnome/shell/extensions/extension.js';

/* @FOCUSED_WINDOW_BODY@ */

export default class FocusedWindowExtension extends Extension {
    enable() {
        this._service = new FocusedWindowService();
        this._service.enable();
    }

    disable() {
        this._service.disable();
        this._service = null;
    }
}
