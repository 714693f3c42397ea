"""aw-qt's place on the desktop: start at login, one instance per profile, a second launch
summoning the first, tray-or-window presence, the GNOME extension, and the environment
of the programs it starts."""
