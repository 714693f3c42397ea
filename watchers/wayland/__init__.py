"""Speaking Wayland protocols to the compositor (pywayland), shared by the watchers'
wlroots window backend and their protocol-based idle backend.

`protocols` builds Python bindings from our protocol XML at run time; `client` holds
the connection: the compositor's globals, binding, and event waits that a `Stopper`
interrupts.
"""
