// Parsing, validation and the model of keepalived-style configuration (pure: no I/O beyond reading files).
