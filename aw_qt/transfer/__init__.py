"""Moving data in and out from the tray: importing an ActivityWatch database, exporting
all data to a file."""
