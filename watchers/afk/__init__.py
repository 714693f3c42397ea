"""aw-watcher-afk: records whether the user is at the computer (bucket type `afkstatus`)."""
