"""The Qt views: tray icon, menus, dialogs and windows. They show what the plain-Python
logic around them decides and forward the user's clicks to it; nothing else imports PyQt6."""
