"""aw-watcher-window: records the focused window's app and title (bucket type `currentwindow`)."""
